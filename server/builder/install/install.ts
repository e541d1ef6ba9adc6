// Installs a function's dependencies outside the image build: in a hardened throwaway container whose only
// way out is a registry-only proxy, from the repository's package.json and lock file alone, cached by their hash.
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { LambdaError } from '../../errors.js';
import { readRepositoryFile } from '../repository-file.js';
import type { Sandbox } from '../../instances/engine.js';
import { LABELS } from '../../instances/labels.js';
import type { Buildpack, InstallStep } from '../buildpacks.js';
import { cleanLine } from '../clean-text.js';
import { pruneCache, touchCached } from './cache.js';
import { npmInputs } from './npm-manifest.js';
import { serveInstallSocket } from './socket.js';
import type { RegistrySettings } from './registry-settings.js';
import type { BuildLog } from '../log.js';

/** Where the install folder is mounted in the container, and the container's writable scratch. */
const MOUNT = '/lambda-install';
const WORK = '/work';
const MIB = 1024 * 1024;
const LIMITS = { work: 768 * MIB, tmp: 512 * MIB, memory: 768 * MIB, timeoutMs: 10 * 60_000, input: 8 * MIB };
/** Unix socket paths are limited to 107 bytes on Linux. */
const MAX_SOCKET_PATH = 107;

export interface InstallRequest {
  sandbox: Sandbox;
  pack: Buildpack & { install: InstallStep };
  baseImage: string;
  /** The image the install runs in (the base plus a toolchain); the base image when unset. */
  installImage?: string;
  registry: RegistrySettings;
  /** The commit's files (untrusted). */
  codeDir: string;
  /** The builder's scratch root: the install makes (and removes) its own short-named folder there. */
  workDir: string;
  cacheDir: string;
  fn: string;
}

export interface Installed {
  /** A tar of the installed folder, kept in the cache: the image build ADDs it. */
  archive: string;
  reused: boolean;
}

/** Installs (or reuses) the dependencies of `codeDir`. Throws LAMBDA_ERR_BUILD_FAILED, LAMBDA_ERR_ENGINE_UNAVAILABLE. */
export async function installDependencies(request: InstallRequest, log: BuildLog): Promise<Installed> {
  const { pack, registry } = request;
  const install = pack.install;
  const read = readInputs(request.codeDir, install.inputs);
  // Checked and rewritten here, so the repository's own files never reach the container as they were pushed.
  const inputs = install.manifest === 'npm' ? npmInputs(read) : read;
  const script = fs.readFileSync(path.join(pack.dir, install.script));
  const local = [...(registry.localIndexes ?? []).map((dir) => `index=${dir}`), ...(registry.localLinks ?? []).map((dir) => `links=${dir}`)];
  const key = cacheKey([`base=${request.baseImage}`, `install-image=${request.installImage ?? request.baseImage}`, `registry=${registry.url.href}`, `script=${digest(script)}`, ...local], inputs);
  fs.mkdirSync(request.cacheDir, { recursive: true, mode: 0o700 });
  const archive = path.join(request.cacheDir, `${pack.runtime}-${key}.tar`);
  const names = [...inputs.keys()].join(' + ');
  if (fs.existsSync(archive)) {
    touchCached(archive);
    log.detail(`Dependencies unchanged (${names}): reusing the install ${key.slice(0, 12)}`);
    return { archive, reused: true };
  }

  log.detail(`Installing dependencies from ${names} (only ${registry.host} is reachable) ...`);
  // A short path of its own: the proxy socket lives in it, and socket paths are limited to 107 bytes.
  const mount = fs.mkdtempSync(path.join(request.workDir, '.install-'));
  try {
    return await installIn(mount, request, inputs, script, archive, log);
  } finally {
    fs.rmSync(mount, { recursive: true, force: true });
  }
}

async function installIn(mount: string, request: InstallRequest, inputs: Map<string, Buffer>, script: Buffer, archive: string, log: BuildLog): Promise<Installed> {
  const { registry } = request;
  const install = request.pack.install;
  prepareMount(mount, request, inputs, script);
  const socketPath = path.join(mount, 'proxy.sock');
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail: `the data directory path is too long for a Unix socket (${socketPath})` });
  }
  const partial = `${archive}.${randomBytes(6).toString('hex')}.partial`;
  const refused: string[] = [];
  const socket = await serveInstallSocket(socketPath, {
    egress: { host: registry.host, port: registry.port, upstream: registry.upstream },
    outputFile: partial,
    maxOutputBytes: LIMITS.work,
    onRefused: (message) => refused.push(message),
  });
  const output: string[] = [];
  try {
    const result = await request.sandbox.run(
      {
        image: request.installImage ?? request.baseImage,
        command: [...(install.interpreter ?? ['node']), `${MOUNT}/${install.script}`],
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp' },
        workingDir: WORK,
        inputDir: mount,
        inputMount: MOUNT,
        readOnlyMounts: localMounts(registry),
        scratch: { [WORK]: LIMITS.work, '/tmp': LIMITS.tmp },
        // With an install image, packages' scripts run what they build and install there (node-gyp, .bin links).
        runnable: request.pack.install.image ? [WORK] : [],
        memoryBytes: LIMITS.memory,
        timeoutMs: LIMITS.timeoutMs,
        labels: { [LABELS.install]: request.fn },
      },
      (line) => {
        const clean = cleanLine(line);
        if (clean.trim() !== '' && output.length < 2000) output.push(clean);
      },
    );
    const bytes = socket.received();
    if (result.exitCode !== 0 || bytes === undefined) {
      for (const line of [...output, ...refused.map((message) => `proxy: ${message}`)]) log.warn(line);
      const why = result.timedOut
        ? `it took longer than ${LIMITS.timeoutMs / 60_000} minutes`
        : result.exitCode === 0
          ? 'the install sent no files back'
          : (firstError(output) ?? `exit status ${result.exitCode}`);
      throw new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail: `installing dependencies failed: ${cleanLine(why)}` });
    }
    fs.renameSync(partial, archive);
    for (const line of output.filter((text) => /^(added|removed|changed|up to date|Successfully installed)\b/.test(text))) log.detail(line);
    pruneCache(request.cacheDir, archive);
    return { archive, reused: false };
  } finally {
    await socket.close();
    fs.rmSync(partial, { force: true });
  }
}

/** The repository's manifest and lock files only, as regular files (a symlink could point at a host file). */
function readInputs(codeDir: string, names: string[]): Map<string, Buffer> {
  const inputs = new Map<string, Buffer>();
  for (const name of names) {
    const bytes = readRepositoryFile(codeDir, name, LIMITS.input);
    if (bytes) inputs.set(name, bytes);
  }
  return inputs;
}

/** The folder mounted read-only into the container: the install script, its settings, the inputs and the CA bundle. */
function prepareMount(mount: string, request: InstallRequest, inputs: Map<string, Buffer>, script: Buffer): void {
  fs.mkdirSync(path.join(mount, 'inputs'));
  const settings = {
    registry: request.registry.url.href,
    ca: request.registry.caFile !== undefined,
    inputs: [...inputs.keys()],
    output: request.pack.install.output,
    ...(request.registry.localIndexes ? { localIndexes: request.registry.localIndexes, localLinks: request.registry.localLinks ?? [] } : {}),
  };
  const write = (file: string, bytes: string | Buffer) => {
    fs.writeFileSync(file, bytes);
    fs.chmodSync(file, 0o644);
  };
  write(path.join(mount, 'install.json'), JSON.stringify(settings));
  write(path.join(mount, request.pack.install.script), script);
  for (const [name, bytes] of inputs) write(path.join(mount, 'inputs', name), bytes);
  if (request.registry.caFile) write(path.join(mount, 'ca.pem'), fs.readFileSync(request.registry.caFile));
  // Readable by the container's user (uid 10001), writable by nobody but the server; mounted read-only anyway.
  for (const dir of [mount, path.join(mount, 'inputs')]) fs.chmodSync(dir, 0o755);
}

/**
 * The host's local package folders, mounted read-only at their own paths so file:// URLs keep working. A "simple"
 * index's links point into its parent (../../files/…), so the parent of a folder named simple is mounted.
 */
function localMounts(registry: RegistrySettings): string[] {
  const dirs = (registry.localIndexes ?? []).map((dir) => (path.basename(dir) === 'simple' && path.dirname(dir) !== '/' ? path.dirname(dir) : dir));
  return [...new Set([...dirs, ...(registry.localLinks ?? [])])];
}

function cacheKey(settings: string[], inputs: Map<string, Buffer>): string {
  const hash = createHash('sha256').update('lambda-install-v1\n');
  for (const line of settings) hash.update(`${line}\n`);
  for (const [name, bytes] of inputs) hash.update(`${name}\n${bytes.length}\n`).update(bytes);
  return hash.digest('hex');
}

function digest(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function firstError(lines: string[]): string | undefined {
  const errors = lines.filter((line) => /\berr(or|!)?\b/i.test(line) && !/complete log of this run/i.test(line));
  return errors.find((line) => !/^npm err(or|!) code\b/i.test(line)) ?? errors[0];
}
