// The two images of the go runtime, assembled from this machine's files and tagged by what they hold: the build
// image (Node for the build script, and the Go toolchain) and the base of every Go version (the shim, nothing else).
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { create as createTar } from 'tar';
import type { Engine } from '../../instances/engine.js';
import { assembleRootfs, copyFile, describeCommands, sharedLibraries } from '../base/rootfs.js';
import type { Toolchain } from './toolchain.js';

/** GOROOT's parts a build never reads: tests, docs, API lists, and the compiled packages of the go command itself. */
const SKIPPED = new Set(['test', 'misc', 'api', 'doc', path.join('pkg', 'linux_amd64', 'cmd'), path.join('pkg', 'linux_amd64_race')]);

/** Changes when what the build image holds changes, so an older one is not reused. */
const LAYOUT = 2;

const PASSWD = 'root:x:0:0:root:/root:/sbin/nologin\nlambda:x:10001:10001:lambda:/tmp:/sbin/nologin\n';
const GROUP = 'root:x:0:\nlambda:x:10001:\n';

type ImageEngine = Pick<Engine, 'imageExists' | 'importImage'>;

/** `lambda/build-go:<hash>`: this machine's node and Go toolchain, made on the first Go build. */
export async function ensureBuildImage(engine: ImageEngine, toolchain: Toolchain, stageRoot: string, onLine: (line: string) => void): Promise<string> {
  const recipe = `layout=${LAYOUT},${describeCommands(['node'])},go=${toolchain.version}:${toolchain.goroot}:${fs.statSync(path.join(toolchain.goroot, 'bin', 'go')).size}`;
  const tag = `lambda/build-go:${hash(recipe)}`;
  if (await engine.imageExists(tag)) return tag;
  onLine(`Assembling the Go build image ${tag} from this machine's node and ${toolchain.version}`);
  await importStage(engine, tag, path.join(stageRoot, `rootfs-build-go-${process.pid}`), (stage) => {
    assembleRootfs(['node'], stage);
    copyGoroot(toolchain.goroot, stage);
  });
  return tag;
}

/**
 * `lambda/base-go:<hash>`: the shim's static binary and a minimal /etc; every Go version's image starts FROM it.
 * `compileShim` writes the binary to the file it is given; it runs only when the image is not there yet.
 */
export async function ensureRuntimeBase(engine: ImageEngine, shimKey: string, stageRoot: string, compileShim: (file: string) => Promise<void>, onLine: (line: string) => void): Promise<string> {
  const tag = `lambda/base-go:${hash(shimKey)}`;
  if (await engine.imageExists(tag)) return tag;
  onLine(`Assembling base image ${tag} (the go runtime's shim, compiled in the build sandbox)`);
  await importStage(engine, tag, path.join(stageRoot, `rootfs-base-go-${process.pid}`), async (stage) => {
    for (const dir of ['etc', 'tmp', 'var/task', 'run/lambda', 'opt/lambda']) fs.mkdirSync(path.join(stage, dir), { recursive: true });
    fs.chmodSync(path.join(stage, 'tmp'), 0o1777);
    fs.writeFileSync(path.join(stage, 'etc/passwd'), PASSWD);
    fs.writeFileSync(path.join(stage, 'etc/group'), GROUP);
    await compileShim(path.join(stage, 'opt/lambda/shim'));
    fs.chmodSync(path.join(stage, 'opt/lambda/shim'), 0o755);
  });
  return tag;
}

async function importStage(engine: ImageEngine, tag: string, stage: string, fill: (stage: string) => void | Promise<void>): Promise<void> {
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  try {
    await fill(stage);
    await engine.importImage(Readable.from(createTar({ cwd: stage, portable: true }, fs.readdirSync(stage))), tag);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/**
 * GOROOT at its own path, links kept as they are, and the folders its links lead to at their own paths (Debian's
 * src/ and pkg/include live in /usr/share); the go command's libraries.
 */
function copyGoroot(goroot: string, stage: string): void {
  const wanted = (source: string) => !SKIPPED.has(path.relative(goroot, source));
  fs.cpSync(goroot, path.join(stage, goroot), { recursive: true, verbatimSymlinks: true, filter: wanted });
  for (const dir of [goroot, path.join(goroot, 'pkg')]) {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const link = path.join(dir, entry.name);
      if (!entry.isSymbolicLink() || !wanted(link)) continue;
      const target = fs.realpathSync(link);
      fs.cpSync(target, path.join(stage, target), { recursive: true, verbatimSymlinks: true });
    }
  }
  const go = path.join(goroot, 'bin', 'go');
  for (const lib of sharedLibraries(go)) copyFile(lib, path.join(stage, lib));
  fs.mkdirSync(path.join(stage, 'usr/bin'), { recursive: true });
  fs.symlinkSync(go, path.join(stage, 'usr/bin/go'));
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}
