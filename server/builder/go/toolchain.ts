// This machine's Go toolchain (Debian's golang-go), found on the first Go build and installed then when missing,
// as scripts/ensure-docker.sh installs the engine: a server that never builds Go never looks for it.
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { LambdaError } from '../../errors.js';

const run = promisify(execFile);

/** The Debian package that brings the newest Go this release offers. */
export const GO_PACKAGE = 'golang-go';

export interface Toolchain {
  /** GOROOT, links resolved (Debian's points into /usr/share for src/). */
  goroot: string;
  /** e.g. go1.19.8 */
  version: string;
}

export interface ToolchainOptions {
  /** Where to look for `go`; the server's PATH by default. */
  searchPath?: string;
  /** Runs the package install; apt-get by default. Tests replace it. */
  install?: (onLine: (line: string) => void) => Promise<void>;
  isRoot?: boolean;
}

let found: Promise<Toolchain> | undefined;

/** The toolchain, found (or installed) once per server process; a failed look is tried again on the next build. */
export function ensureToolchain(onLine: (line: string) => void, options: ToolchainOptions = {}): Promise<Toolchain> {
  found ??= locate(onLine, options).catch((error: unknown) => {
    found = undefined;
    throw error;
  });
  return found;
}

/** Finds (or installs) the toolchain with no memory of an earlier look; exported for its tests. */
export async function locate(onLine: (line: string) => void, options: ToolchainOptions): Promise<Toolchain> {
  let go = findGo(options.searchPath ?? process.env.PATH ?? '/usr/bin:/bin');
  if (!go) {
    const isRoot = options.isRoot ?? process.getuid?.() === 0;
    const hasApt = findGo(options.searchPath ?? process.env.PATH ?? '/usr/bin:/bin', 'apt-get') !== undefined;
    if (!isRoot || (!hasApt && !options.install)) {
      throw new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail: `Go is not installed on this machine: install Debian's ${GO_PACKAGE} (apt-get install ${GO_PACKAGE}) and push again` });
    }
    onLine(`Installing Debian's ${GO_PACKAGE} (the first Go build on this machine) ...`);
    try {
      await (options.install ?? aptInstall)(onLine);
    } catch (error) {
      throw new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail: `installing ${GO_PACKAGE} failed: ${(error as Error).message.split('\n')[0]}` });
    }
    go = findGo(options.searchPath ?? process.env.PATH ?? '/usr/bin:/bin');
    if (!go) throw new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail: `${GO_PACKAGE} was installed but no go command is on PATH` });
  }
  const { stdout } = await run(go, ['env', 'GOROOT', 'GOVERSION'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', GOTOOLCHAIN: 'local' } });
  const [goroot, version] = stdout.trim().split('\n');
  return { goroot: fs.realpathSync(goroot), version };
}

function findGo(searchPath: string, command = 'go'): string | undefined {
  for (const dir of searchPath.split(':')) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

async function aptInstall(onLine: (line: string) => void): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], { env, maxBuffer: 16 * 1024 * 1024 });
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', GO_PACKAGE], { env, maxBuffer: 16 * 1024 * 1024 });
  onLine(`${GO_PACKAGE} installed`);
}
