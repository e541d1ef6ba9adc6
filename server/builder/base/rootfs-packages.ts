// Copies this machine's own Debian packages (a compiler and what it depends on) into a root filesystem being
// assembled: every file a package installed, with the shared libraries its programs load.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { copyFile, isElf, sharedLibraries } from './rootfs.js';

/** Files no build reads: documentation, translations, and link-time-optimisation programs nobody's addon asks for. */
const SKIP_FOLDERS = /^\/usr\/share\/(doc|doc-base|man|info|locale|lintian|bug|bash-completion|gdb)\//;
const SKIP_NAMES = /^(lto1|.*lto-dump.*)$/;

/**
 * The installed packages that hold `programs` (found on PATH) and everything they depend on, recursively, by the
 * package manager's own records. Empty on a machine without dpkg; programs no package holds are left out.
 */
export function debianPackages(programs: string[], query = dpkgQuery): string[] {
  // One read of the package database: name, status and dependencies of every package this machine knows.
  const known = new Map<string, string>();
  for (const line of (query(['-W', '-f=${Package}\t${Status}\t${Pre-Depends}, ${Depends}\n']) ?? '').split('\n')) {
    const [name, status, depends] = line.split('\t');
    if (name && /\binstall ok installed\b/.test(status ?? '')) known.set(name, depends ?? '');
  }
  const todo = programs.map((program) => ownerOf(program, query)).filter((owner): owner is string => owner !== undefined && known.has(owner));
  const seen = new Set<string>();
  while (todo.length > 0) {
    const name = todo.pop() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const group of (known.get(name) ?? '').split(',')) {
      // "a | b": the first one this machine has; "(>= 1)" and ":any" say nothing about which files to copy.
      const choices = group.split('|').map((each) => each.replace(/\(.*?\)/g, '').replace(/:any$/, '').trim()).filter(Boolean);
      const present = choices.find((choice) => known.has(choice));
      if (present && !seen.has(present)) todo.push(present);
    }
  }
  return [...seen].sort();
}

/** `name=version` per package: part of the image tag, so an upgraded compiler gives another image. */
export function describePackages(names: string[], query = dpkgQuery): string {
  if (names.length === 0) return 'packages=';
  return `packages=${(query(['-W', '-f=${Package}=${Version}\\n', ...names]) ?? '').trim().split('\n').join('+')}`;
}

/** Copies every file of `names` into `stage` (links as links, their targets too), then the libraries they load. */
export function addPackages(names: string[], stage: string, list = dpkgList): void {
  const programs: string[] = [];
  for (const name of names) {
    for (const file of list(name)) {
      if (SKIP_FOLDERS.test(file) || SKIP_NAMES.test(path.basename(file))) continue;
      let stat: fs.Stats;
      try {
        stat = fs.lstatSync(file);
      } catch {
        continue;
      }
      const to = path.join(stage, file);
      if (stat.isDirectory()) {
        fs.mkdirSync(to, { recursive: true });
      } else if (stat.isSymbolicLink()) {
        addLink(file, to, stage);
      } else if (stat.isFile()) {
        copyFile(file, to);
        if (isProgram(file, stat)) programs.push(file);
      }
    }
  }
  for (const program of programs) {
    let libraries: string[];
    try {
      libraries = sharedLibraries(program);
    } catch {
      continue; // a static program or an object file: nothing to load
    }
    for (const library of libraries) if (!fs.existsSync(path.join(stage, library))) copyFile(library, path.join(stage, library));
  }
}

function addLink(file: string, to: string, stage: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  try {
    fs.lstatSync(to);
    return; // already there (a folder link of the merged /usr, or another package's copy)
  } catch {
    // not yet
  }
  fs.symlinkSync(fs.readlinkSync(file), to);
  // The file it names, wherever that is, so the link never dangles in the image.
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    return;
  }
  if (fs.statSync(real).isFile() && !fs.existsSync(path.join(stage, real))) copyFile(real, path.join(stage, real));
}

function isProgram(file: string, stat: fs.Stats): boolean {
  if (!((stat.mode & 0o111) !== 0 || /\.so(\.|$)/.test(file))) return false;
  try {
    return isElf(file);
  } catch {
    return false;
  }
}

function ownerOf(program: string, query: typeof dpkgQuery): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const candidate = path.join(dir, program);
    if (!fs.existsSync(candidate)) continue;
    // The path as found (g++ → package g++), then the file it leads to (merged /usr: /bin/sh is dash's /usr/bin/dash).
    for (const each of [candidate, fs.realpathSync(candidate)]) {
      const owner = query(['-S', each])?.split('\n')[0];
      const match = owner ? /^([^:\s,]+)(?::\S+)?(?:, [^:]+)*: /.exec(owner) : null;
      if (match) return match[1];
    }
  }
  return undefined;
}

function dpkgQuery(args: string[]): string | undefined {
  try {
    return execFileSync('dpkg-query', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 });
  } catch {
    return undefined;
  }
}

function dpkgList(name: string): string[] {
  return (dpkgQuery(['-L', name]) ?? '').split('\n').filter((line) => line.startsWith('/'));
}
