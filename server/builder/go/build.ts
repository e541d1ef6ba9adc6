// The go runtime's build: the toolchain (installed on first use), the build image, the shim's base image, the
// function's binary compiled in the sandbox, then an image of nothing but the shim and that binary.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Engine, Sandbox } from '../../instances/engine.js';
import type { Buildpack } from '../buildpacks.js';
import type { BuildLog } from '../log.js';
import { compileGo } from './compile.js';
import { ensureBuildImage, ensureRuntimeBase } from './images.js';
import { ensureToolchain, type Toolchain } from './toolchain.js';

export interface GoBuildRequest {
  engine: Engine;
  sandbox: Sandbox;
  pack: Buildpack;
  /** The builder's scratch root. */
  workDir: string;
  fn: string;
  sha: string;
  tag: string;
  exportTo(dir: string): Promise<void>;
  /** The engine build of a context folder (the builder's, with its output handling). */
  buildImage(tag: string, contextDir: string): Promise<void>;
}

/** Builds a Go version's image. Throws LAMBDA_ERR_BUILD_FAILED (a compile error with the compiler's lines), LAMBDA_ERR_ENGINE_UNAVAILABLE. */
export async function buildGoVersion(request: GoBuildRequest, log: BuildLog): Promise<void> {
  const { engine, pack, workDir } = request;
  const toolchain = await ensureToolchain(log.detail);
  const buildImage = await once(`build ${toolchain.version}`, () => ensureBuildImage(engine, toolchain, workDir, log.detail));
  const script = path.join(pack.dir, 'build.mjs');
  const base = await shimBase(request, toolchain, buildImage, script, log);
  const dir = fs.mkdtempSync(path.join(workDir, `${request.fn}-${request.sha.slice(0, 12)}-`));
  try {
    const code = path.join(dir, 'code');
    const context = path.join(dir, 'context');
    fs.mkdirSync(code);
    fs.mkdirSync(context);
    await request.exportTo(code);
    log.detail(`Compiling with ${toolchain.version} (no network${fs.existsSync(path.join(code, 'vendor')) ? ', dependencies from vendor/' : ''}, CGO_ENABLED=0) ...`);
    const cacheFile = goCacheFile(workDir, request.fn);
    fs.mkdirSync(path.dirname(cacheFile), { recursive: true, mode: 0o700 });
    await compileGo({ sandbox: request.sandbox, image: buildImage, goroot: toolchain.goroot, script, sourceDir: code, workDir, binary: path.join(context, 'function'), cacheFile, label: request.fn }, log);
    log.detail(`Built a static binary of ${Math.ceil(fs.statSync(path.join(context, 'function')).size / 1024)} KiB`);
    fs.writeFileSync(path.join(context, 'Dockerfile'), pack.template.replaceAll('{{BASE_IMAGE}}', base));
    await request.buildImage(request.tag, context);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Removes what is kept for a function's Go builds (its build cache). */
export function forgetGoFunction(workDir: string, fn: string): void {
  fs.rmSync(goCacheFile(workDir, fn), { force: true });
}

/** A function's own build cache: never shared, so one function's pushes cannot change what another's builds read. */
function goCacheFile(workDir: string, fn: string): string {
  return path.join(workDir, '.go-cache', `${fn}.tar`);
}

/** The shim's base image, keyed by the shim's sources, the build script and the toolchain. */
function shimBase(request: GoBuildRequest, toolchain: Toolchain, buildImage: string, script: string, log: BuildLog): Promise<string> {
  const shimDir = path.join(request.pack.dir, 'shim');
  const hash = createHash('sha256').update(`${toolchain.version}\n${toolchain.goroot}\n`).update(fs.readFileSync(script));
  for (const name of fs.readdirSync(shimDir).sort()) hash.update(`${name}\n`).update(fs.readFileSync(path.join(shimDir, name)));
  const key = hash.digest('hex');
  return once(`shim ${key}`, () =>
    ensureRuntimeBase(
      request.engine,
      key,
      request.workDir,
      (file) => compileGo({ sandbox: request.sandbox, image: buildImage, goroot: toolchain.goroot, script, sourceDir: shimDir, workDir: request.workDir, binary: file, label: 'go-shim' }, log),
      log.detail,
    ),
  );
}

/** Two builds at once make each image once; a failure is tried again by the next build. */
const pending = new Map<string, Promise<string>>();
function once(key: string, make: () => Promise<string>): Promise<string> {
  let promise = pending.get(key);
  if (!promise) {
    promise = make().finally(() => pending.delete(key));
    pending.set(key, promise);
  }
  return promise;
}
