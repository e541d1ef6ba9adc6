// Adds this machine's own Python (interpreter, standard library, pip) to a root filesystem being assembled, as
// /usr/local/bin/python3: the python3 buildpack's base image on a host that cannot pull from a registry.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { copyFile, sharedLibraries } from './rootfs.js';

/** Parts of the standard library no function needs (tests, GUI, the static library, bundled wheels). */
const SKIP = new Set(['test', 'idlelib', 'tkinter', 'turtledemo', 'ensurepip', 'lib2to3', 'site-packages']);
/** Extension modules whose libraries a container has no use for (Tk needs X11). */
const SKIP_EXTENSIONS = /^_tkinter\./;

export interface HostPython {
  /** The real interpreter binary, e.g. /root/.pyenv/versions/3.11.7/bin/python3.11. */
  executable: string;
  /** "3.11" */
  version: string;
  /** The standard library folder, e.g. …/lib/python3.11. */
  stdlib: string;
  /** The folder holding pip (pip runs the python3 buildpack's installs). */
  pip: string;
}

const asked = new Map<string, HostPython>();

/**
 * Asks the `python3` on PATH where it lives, once per server process (it runs synchronously, at the first python3
 * build: a host Python upgraded meanwhile is seen at the next start). Throws when there is none.
 */
export function hostPython(command = 'python3'): HostPython {
  const known = asked.get(command);
  if (known) return known;
  const found = askPython(command);
  asked.set(command, found);
  return found;
}

function askPython(command: string): HostPython {
  const script = 'import sys, sysconfig, os, pip; print(os.path.realpath(sys.executable)); print(sysconfig.get_python_version()); print(sysconfig.get_paths()["stdlib"]); print(os.path.dirname(pip.__file__))';
  let output: string;
  try {
    output = execFileSync(command, ['-I', '-c', script], { encoding: 'utf8', cwd: '/', timeout: 30_000 });
  } catch (error) {
    throw new Error(`"${command}" with pip is not installed on this machine; the local python3 base image needs it (${(error as Error).message.split('\n')[0]})`);
  }
  const [executable, version, stdlib, pip] = output.trim().split('\n');
  return { executable, version, stdlib, pip };
}

/**
 * The system libraries a manylinux wheel may link without carrying them (the manylinux policies' list), so compiled
 * packages (pydantic, orjson, numpy, cryptography…) load. Left out: X11, GL and GLib, for windows no function opens.
 */
export const MANYLINUX_LIBRARIES = [
  'libgcc_s.so.1',
  'libstdc++.so.6',
  'libm.so.6',
  'libdl.so.2',
  'librt.so.1',
  'libc.so.6',
  'libnsl.so.1',
  'libutil.so.1',
  'libpthread.so.0',
  'libresolv.so.2',
  'libcrypt.so.1',
] as const;

/** Part of the base image's tag: a different host Python (another path, version or build) gives another image. */
export function describePython(python: HostPython): string {
  return `python=${python.executable}:${fs.statSync(python.executable).size}:${python.version},manylinux=${MANYLINUX_LIBRARIES.join('+')}`;
}

/**
 * Where the loader finds each of `names` on this machine (`ldconfig -p`), in the folder of `beside` (the interpreter's
 * own C library, so the same architecture) when there is a choice; names this machine lacks are left out.
 */
export function hostLibraries(names: readonly string[], beside: string | undefined, cache = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' })): string[] {
  const found: string[] = [];
  for (const name of names) {
    const paths = cache
      .split('\n')
      .map((line) => /^\s*(\S+) \(([^)]*)\) => (\S+)$/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null && match[1] === name)
      .map((match) => match[3] as string);
    const same = beside === undefined ? undefined : paths.find((each) => path.dirname(each) === path.dirname(beside));
    const chosen = same ?? paths[0];
    if (chosen) found.push(chosen);
  }
  return found;
}

/** Copies the interpreter, its standard library, pip and every shared library they load into `stage`. */
export function addPython(python: HostPython, stage: string): void {
  const bin = path.join(stage, 'usr/local/bin');
  const lib = path.join(stage, 'usr/local/lib', `python${python.version}`);
  fs.mkdirSync(bin, { recursive: true });
  const binary = path.join(bin, `python${python.version}`);
  fs.copyFileSync(python.executable, binary);
  fs.chmodSync(binary, 0o755);
  fs.symlinkSync(`python${python.version}`, path.join(bin, 'python3'));
  fs.symlinkSync(`python${python.version}`, path.join(bin, 'python'));
  // Python finds its library next to its binary (bin/../lib/pythonX.Y/os.py), wherever it was built for.
  fs.cpSync(python.stdlib, lib, {
    recursive: true,
    dereference: true,
    filter: (source) => {
      const relative = path.relative(python.stdlib, source);
      const top = relative.split(path.sep)[0];
      if (SKIP.has(top) || top.startsWith('config-')) return false;
      return !SKIP_EXTENSIONS.test(path.basename(source));
    },
  });
  fs.cpSync(python.pip, path.join(lib, 'site-packages', 'pip'), { recursive: true, dereference: true });
  const libraries = new Set(sharedLibraries(python.executable));
  const dynload = path.join(python.stdlib, 'lib-dynload');
  if (fs.existsSync(dynload)) {
    for (const name of fs.readdirSync(dynload)) {
      if (name.endsWith('.so') && !SKIP_EXTENSIONS.test(name)) for (const found of sharedLibraries(path.join(dynload, name))) libraries.add(found);
    }
  }
  const libc = [...libraries].find((each) => path.basename(each) === 'libc.so.6');
  for (const extra of hostLibraries(MANYLINUX_LIBRARIES, libc)) {
    libraries.add(extra);
    for (const found of sharedLibraries(extra)) libraries.add(found);
  }
  // Each library where the loader looks for it (a shared libpython is found through the binary's RUNPATH).
  for (const found of libraries) copyFile(found, path.join(stage, found));
}
