// One Go build in the sandbox: the source's regular files (read-only), the platform's build script, no network,
// uid 10001, tmpfs scratch, memory and time bounds; the static binary comes back over the output socket.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { extract } from 'tar';
import { LambdaError } from '../../errors.js';
import type { Sandbox } from '../../instances/engine.js';
import { LABELS } from '../../instances/labels.js';
import { cleanLine } from '../clean-text.js';
import type { BuildLog } from '../log.js';
import { serveOutputSocket } from './output-socket.js';
import { copySource } from './source.js';

const MOUNT = '/lambda-build';
const MIB = 1024 * 1024;
/** Bounds of one build; the build cache a function keeps is bounded by what the scratch holds beside the binary. */
export const GO_LIMITS = { work: 1024 * MIB, tmp: 512 * MIB, memory: 1024 * MIB, timeoutMs: 10 * 60_000, binary: 256 * MIB, cache: 512 * MIB };
/** Files a kept build cache may hold (each is a file on the server's disk while a build runs). */
const MAX_CACHE_FILES = 100_000;
/** Lines of a build's output kept to show when it fails. */
const MAX_LINES = 2000;

export interface CompileRequest {
  sandbox: Sandbox;
  /** The build image (node and the Go toolchain). */
  image: string;
  goroot: string;
  /** The build script (buildpacks/go/build.mjs). */
  script: string;
  /** The folder to build: a commit's files (untrusted) or the platform's own shim. */
  sourceDir: string;
  /** A short-named scratch folder of the server's: the build's folder is made (and removed) there. */
  workDir: string;
  /** Where the binary goes. */
  binary: string;
  /** This function's kept build cache (a tar), read before and replaced after a build; none for the shim. */
  cacheFile?: string;
  /** What the build is for (a label of its container). */
  label: string;
}

/** Builds `sourceDir` into `binary`. Throws LAMBDA_ERR_BUILD_FAILED with the compiler's first line, its other lines as warnings. */
export async function compileGo(request: CompileRequest, log: BuildLog): Promise<void> {
  const mount = fs.mkdtempSync(path.join(request.workDir, '.go-'));
  try {
    await compileIn(mount, request, log);
  } finally {
    fs.rmSync(mount, { recursive: true, force: true });
  }
}

async function compileIn(mount: string, request: CompileRequest, log: BuildLog): Promise<void> {
  const source = path.join(mount, 'src');
  const copied = copySource(request.sourceDir, source);
  if (copied.skipped.length > 0) log.detail(`Not read (only regular files are built): ${copied.skipped.slice(0, 5).join(', ')}${copied.skipped.length > 5 ? ', …' : ''}`);
  // A lone main.go (no go.mod) is built as a module of its own.
  if (!fs.existsSync(path.join(source, 'go.mod'))) fs.writeFileSync(path.join(source, 'go.mod'), 'module function\n\ngo 1.19\n');
  const vendor = fs.existsSync(path.join(source, 'vendor', 'modules.txt'));
  const keepsCache = request.cacheFile !== undefined;
  const cached = keepsCache && (await unpackCache(request.cacheFile as string, path.join(mount, 'cache')));
  if (cached) log.detail("Reusing this function's Go build cache");
  fs.copyFileSync(request.script, path.join(mount, 'build.mjs'));
  fs.writeFileSync(path.join(mount, 'build.json'), JSON.stringify({ goroot: request.goroot, vendor, cache: cached, sendCache: keepsCache }));
  for (const file of ['build.mjs', 'build.json']) fs.chmodSync(path.join(mount, file), 0o644);
  fs.chmodSync(mount, 0o755);

  const suffix = randomBytes(6).toString('hex');
  const partial = { output: `${request.binary}.${suffix}.partial`, cache: `${request.cacheFile ?? request.binary}.${suffix}.cache.partial` };
  const refused: string[] = [];
  const socket = await serveOutputSocket(
    path.join(mount, 'output.sock'),
    { output: { file: partial.output, maxBytes: GO_LIMITS.binary }, ...(keepsCache ? { cache: { file: partial.cache, maxBytes: GO_LIMITS.cache } } : {}) },
    (message) => refused.push(message),
  );
  const output: string[] = [];
  try {
    const result = await request.sandbox.run(
      {
        image: request.image,
        command: ['node', `${MOUNT}/build.mjs`],
        env: { PATH: '/usr/bin:/bin', HOME: '/tmp' },
        workingDir: '/work',
        inputDir: mount,
        inputMount: MOUNT,
        scratch: { '/work': GO_LIMITS.work, '/tmp': GO_LIMITS.tmp },
        memoryBytes: GO_LIMITS.memory,
        timeoutMs: GO_LIMITS.timeoutMs,
        labels: { [LABELS.install]: request.label },
      },
      (line) => {
        const clean = cleanLine(line);
        if (clean.trim() !== '' && output.length < MAX_LINES) output.push(clean);
      },
    );
    const binary = socket.received('output');
    if (result.exitCode !== 0 || binary === undefined) {
      for (const line of [...output, ...refused]) log.warn(line);
      const why = result.timedOut ? `it took longer than ${GO_LIMITS.timeoutMs / 60_000} minutes` : (compilerLine(output) ?? refused[0] ?? `exit status ${result.exitCode}`);
      throw new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail: `go build failed: ${cleanLine(why)}` });
    }
    fs.renameSync(binary, request.binary);
    fs.chmodSync(request.binary, 0o755);
    const cache = socket.received('cache');
    // A cache that did not come back whole (over its bound) is dropped: the next build starts cold.
    if (request.cacheFile) {
      if (cache) fs.renameSync(cache, request.cacheFile);
      else fs.rmSync(request.cacheFile, { force: true });
    }
  } finally {
    await socket.close();
    fs.rmSync(partial.output, { force: true });
    fs.rmSync(partial.cache, { force: true });
  }
}

/**
 * The kept cache, unpacked for the build: regular files and folders only, inside the folder, at most
 * MAX_CACHE_FILES of them; false when there is none (or it is broken or over the bound: the build starts cold).
 */
async function unpackCache(file: string, dir: string): Promise<boolean> {
  if (!fs.existsSync(file)) return false;
  fs.mkdirSync(dir, { mode: 0o755 });
  try {
    let entries = 0;
    await extract({ file, cwd: dir, strict: true, preserveOwner: false, filter: (_path, entry) => ++entries <= MAX_CACHE_FILES && 'type' in entry && (entry.type === 'File' || entry.type === 'Directory') });
    if (entries > MAX_CACHE_FILES) throw new Error(`the build cache holds over ${MAX_CACHE_FILES} files`);
    for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
      fs.chmodSync(path.join(entry.parentPath ?? entry.path, entry.name), entry.isDirectory() ? 0o755 : 0o644);
    }
    return true;
  } catch {
    // A broken cache only costs a cold build.
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(file, { force: true });
    return false;
  }
}

/** The compiler's first `file:line` error, or go's own first complaint. */
function compilerLine(lines: string[]): string | undefined {
  return lines.find((line) => /^\S+\.go:\d+(:\d+)?: /.test(line)) ?? lines.find((line) => !line.startsWith('#'));
}
