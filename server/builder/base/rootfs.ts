// Assembles a minimal root filesystem from this machine's own programs and their shared libraries,
// for base images on hosts that cannot pull from a registry (loaded with `docker import`).
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const PASSWD = 'root:x:0:0:root:/root:/sbin/nologin\nlambda:x:10001:10001:lambda:/tmp:/sbin/nologin\n';
const GROUP = 'root:x:0:\nlambda:x:10001:\n';

/**
 * Copies each command (binary or script package) with its libraries into `stage`, plus a minimal /etc. `links`
 * (stage path → target) are made first, e.g. /lib → usr/lib, so files copied through them land in one place.
 */
export function assembleRootfs(commands: string[], stage: string, links: Record<string, string> = {}): void {
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  for (const [link, target] of Object.entries(links)) {
    const at = path.join(stage, link);
    // The target folder exists first: a dangling link would stop every mkdir through it.
    fs.mkdirSync(path.resolve(path.dirname(at), target), { recursive: true });
    fs.symlinkSync(target, at);
  }
  for (const dir of ['etc', 'tmp', 'var/task', 'run/lambda', 'opt/lambda', 'usr/bin', 'root']) {
    fs.mkdirSync(path.join(stage, dir), { recursive: true });
  }
  fs.chmodSync(path.join(stage, 'tmp'), 0o1777);
  fs.writeFileSync(path.join(stage, 'etc/passwd'), PASSWD);
  fs.writeFileSync(path.join(stage, 'etc/group'), GROUP);
  fs.writeFileSync(path.join(stage, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  for (const command of commands) addCommand(command, stage);
}

/** The host programs a base image is made from, with versions: part of the image tag, so a host upgrade rebuilds it. */
export function describeCommands(commands: string[]): string {
  return commands.map((command) => `${command}=${resolveCommand(command)}:${fs.statSync(resolveCommand(command)).size}`).join(',');
}

export function resolveCommand(command: string): string {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const candidate = path.join(dir, command);
    if (fs.existsSync(candidate)) return fs.realpathSync(candidate);
  }
  if (command === 'node') return fs.realpathSync(process.execPath);
  throw new Error(`"${command}" is not installed on this machine; the local base image needs it`);
}

function addCommand(command: string, stage: string): void {
  const real = resolveCommand(command);
  const link = path.join(stage, 'usr/bin', command);
  if (isElf(real)) {
    copyFile(real, link);
    for (const lib of sharedLibraries(real)) copyFile(lib, path.join(stage, lib));
    return;
  }
  // A script inside an npm package (npm itself): copy the package and link the command to it.
  const packageRoot = findPackageRoot(real);
  fs.cpSync(packageRoot, path.join(stage, packageRoot), { recursive: true, dereference: true });
  fs.rmSync(link, { force: true });
  fs.symlinkSync(real, link);
}

export function isElf(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const magic = Buffer.alloc(4);
    fs.readSync(fd, magic, 0, 4, 0);
    return magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    fs.closeSync(fd);
  }
}

/** The shared libraries `file` loads, by `ldd` (the python3 base image's interpreter and extensions too). */
export function sharedLibraries(file: string): string[] {
  const output = execFileSync('ldd', [file], { encoding: 'utf8' });
  const libs = new Set<string>();
  for (const line of output.split('\n')) {
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (match) libs.add(match[1]);
  }
  return [...libs];
}

function findPackageRoot(file: string): string {
  let dir = path.dirname(file);
  while (dir !== path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && path.basename(path.dirname(dir)) === 'node_modules') return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the package that holds ${file}`);
}

/** Copies a host file (links followed) to `to` in a stage, with its mode. */
export function copyFile(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(fs.realpathSync(from), to);
  fs.chmodSync(to, fs.statSync(fs.realpathSync(from)).mode & 0o7777);
}
