// Makes sure the image dependency installs run in exists: the runtime's own programs plus a shell, the usual
// command-line tools and a C/C++ toolchain (compilers, make, Python for node-gyp, Node's headers), assembled from
// this machine, so packages that compile native code at install can. The runtime's base image stays small.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { create as createTar } from 'tar';
import type { Engine } from '../../instances/engine.js';
import type { Buildpack, InstallImage } from '../buildpacks.js';
import type { BaseImageSetting } from './base-image.js';
import { assembleRootfs, copyFile, describeCommands, resolveCommand } from './rootfs.js';
import { addPython, describePython, hostPython, type HostPython } from './rootfs-python.js';
import { addPackages, debianPackages, describePackages } from './rootfs-packages.js';

/** The merged /usr layout Debian uses: paths the compiler and linker scripts name (/lib/…/libc.so.6) resolve as on the host. */
const MERGED_USR = { bin: 'usr/bin', sbin: 'usr/sbin', lib: 'usr/lib', lib64: 'usr/lib64' };

interface Recipe {
  text: string;
  packages: string[];
  missing: string[];
  /** This machine's Node headers folder, when it has one. */
  headers?: string;
  python?: HostPython;
}

/** Recipes are read from the package database once per server process: an upgraded compiler is seen at the next start. */
const recipes = new Map<string, Recipe>();
const assembling = new Map<string, Promise<string>>();

/**
 * The image `pack`'s install runs in: the base image when the buildpack asks for nothing more; else the official
 * install image, an operator's own image as it is (the same one as the base), or one assembled from this machine.
 */
export async function ensureInstallImage(
  engine: Pick<Engine, 'imageExists' | 'importImage'>,
  pack: Buildpack,
  setting: BaseImageSetting,
  baseImage: string,
  workDir: string,
  onLine: (line: string) => void,
): Promise<string> {
  const spec = pack.install?.image;
  if (!spec) return baseImage;
  if (setting === 'official') return spec.official;
  if (setting !== 'local') return setting;
  const recipe = recipeOf(pack.runtime, spec);
  const tag = `lambda/install-${pack.runtime}:${createHash('sha256').update(recipe.text).digest('hex').slice(0, 12)}`;
  if (await engine.imageExists(tag)) return tag;
  // Two builds at once wait for the same assembly (they would share its stage folder too).
  const pending = assembling.get(tag);
  if (pending) return pending;
  const assembled = assemble(engine, pack.runtime, spec, recipe, tag, workDir, onLine).finally(() => assembling.delete(tag));
  assembling.set(tag, assembled);
  return assembled;
}

async function assemble(
  engine: Pick<Engine, 'importImage'>,
  runtime: string,
  spec: InstallImage,
  recipe: Recipe,
  tag: string,
  workDir: string,
  onLine: (line: string) => void,
): Promise<string> {
  onLine(`Assembling install image ${tag} from this machine's ${[...spec.local.commands.slice(0, 3), ...(spec.local.toolchain ?? []), ...(spec.local.python ? ['python3'] : [])].join(', ')} and their packages`);
  if (recipe.missing.length > 0) onLine(`Not on this machine: ${recipe.missing.join(', ')}; packages that compile native code at install will fail (Debian: apt-get install g++ make)`);
  const stage = path.join(workDir, `rootfs-install-${runtime}-${process.pid}`);
  try {
    assembleRootfs(spec.local.commands, stage, MERGED_USR);
    addPackages(recipe.packages, stage);
    linkPrograms((spec.local.toolchain ?? []).filter((program) => !recipe.missing.includes(program)), stage);
    if (recipe.python) addPython(recipe.python, stage);
    // Where node-gyp looks beside the image's /usr/bin/node (install.mjs sets nodedir to the running Node's prefix).
    if (recipe.headers) fs.cpSync(recipe.headers, path.join(stage, 'usr/include/node'), { recursive: true, dereference: true });
    await engine.importImage(Readable.from(createTar({ cwd: stage, portable: true }, fs.readdirSync(stage))), tag);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
  return tag;
}

function recipeOf(runtime: string, spec: InstallImage): Recipe {
  const known = recipes.get(runtime);
  if (known) return known;
  const local = spec.local;
  const toolchain = local.toolchain ?? [];
  const missing = toolchain.filter((program) => !onPath(program));
  const packages = debianPackages(toolchain.filter((program) => !missing.includes(program)));
  const headers = local.nodeHeaders ? nodeHeaders() : undefined;
  if (local.nodeHeaders && !headers) missing.push("Node's headers (include/node)");
  const python = local.python ? pythonIfAny(local.python) : undefined;
  if (local.python && !python) missing.push(`${local.python} with pip`);
  const text = [
    'lambda-install-image-v1',
    describeCommands(local.commands),
    `toolchain=${toolchain.join(',')}`,
    describePackages(packages),
    python ? describePython(python) : 'python=',
    headers ? describeTree(headers) : 'headers=',
  ].join('\n');
  const recipe = { text, packages, missing, ...(headers ? { headers } : {}), ...(python ? { python } : {}) };
  recipes.set(runtime, recipe);
  return recipe;
}

/** A folder copied as it is (Node's headers): its files' names and sizes, so a Node upgrade gives another image. */
function describeTree(tree: string): string {
  if (!fs.existsSync(tree)) return `tree=${tree}:absent`;
  const hash = createHash('sha256');
  for (const entry of fs.readdirSync(tree, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    hash.update(`${path.relative(tree, file)}:${fs.statSync(file).size}\n`);
  }
  return `tree=${tree}:${hash.digest('hex')}`;
}

/** Names no package holds (cc, c++: the host's alternatives) lead to the program they lead to on this machine. */
function linkPrograms(programs: string[], stage: string): void {
  for (const program of programs) {
    const at = path.join(stage, 'usr/bin', program);
    if (fs.existsSync(at)) continue;
    const real = resolveCommand(program);
    if (!fs.existsSync(path.join(stage, real))) copyFile(real, path.join(stage, real));
    fs.rmSync(at, { force: true });
    fs.symlinkSync(real, at);
  }
}

/** The headers of the `node` on PATH: beside it (<prefix>/include/node, as Node's own builds and nvm lay them out), else Debian's. */
function nodeHeaders(): string | undefined {
  const prefix = path.dirname(path.dirname(resolveCommand('node')));
  return [path.join(prefix, 'include/node'), '/usr/include/node'].find((dir) => fs.existsSync(path.join(dir, 'common.gypi')));
}

/** node-gyp's Python; a machine without one still installs packages that compile nothing. */
function pythonIfAny(command: string): HostPython | undefined {
  try {
    return hostPython(command);
  } catch {
    return undefined;
  }
}

function onPath(program: string): boolean {
  return (process.env.PATH ?? '/usr/bin:/bin').split(':').some((dir) => fs.existsSync(path.join(dir, program)));
}
