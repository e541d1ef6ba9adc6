// A buildpack's stem-cell recipe (its cell.json) and the stem-cell image built from it: the runtime's base image
// plus the very files every version image carries (the shim), with nothing of any version in it.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Engine } from '../engine.js';

const MIB = 1024 * 1024;

/** What buildpacks/<runtime>/cell.json says about the runtime's cells. */
export interface CellSettings {
  /** The stem Dockerfile in the buildpack folder; `{{BASE_IMAGE}}` is filled in. */
  dockerfile: string;
  /** Where a version's own files are in its image, and where a cell mounts them. */
  taskRoot: string;
  /** Buildpack file or folder → its path in images: the same must be in the version's image, or it starts classically. */
  same: Record<string, string>;
  /**
   * Folders outside the task folder where the buildpack puts a version's own files (python3's installed requirements
   * in /opt/python): taken from the version's image too and mounted read-only at the same paths in its cell.
   */
  extraFolders: string[];
  /** The memory limit cells boot with. */
  memoryBytes: number;
  /** Private memory one waiting cell holds (measured; the pool's budget counts cells by it). */
  waitingBytes: number;
  /** A version whose memory is above this starts classically: the runtime sizes itself at boot by the limit (V8's heap does above 512 MiB). */
  sameStartUpToBytes: number;
  /** A version whose memory is below this starts classically: what the cell loaded while it waited must not crowd a small limit. */
  sameStartFromBytes: number;
  /** Variables the runtime reads only when its process starts (NODE_OPTIONS, …): a version setting one starts classically. */
  startupEnv: RegExp;
}

export interface CellRecipe {
  runtime: string;
  /** The buildpack folder. */
  dir: string;
  /** The buildpack files and folders copied into every version image (buildpack.json's `files`): the cell image gets the same. */
  files: string[];
  settings: CellSettings;
  /** The base image the runtime's version images are built FROM (assembled on first use when so configured). */
  baseImage(): Promise<string>;
}

/** Recipes for the buildpacks that have a cell.json; the others always start classically. */
export function cellRecipes(packs: { runtime: string; dir: string; files: string[] }[], baseImage: (runtime: string) => Promise<string>): CellRecipe[] {
  const recipes: CellRecipe[] = [];
  for (const pack of packs) {
    const file = path.join(pack.dir, 'cell.json');
    if (!fs.existsSync(file)) continue;
    const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      dockerfile: string;
      taskRoot: string;
      same: Record<string, string>;
      extraFolders?: string[];
      memoryMiB: number;
      waitingMiB?: number;
      sameStartUpToMiB: number;
      sameStartFromMiB?: number;
      startupEnv: string;
    };
    const settings: CellSettings = {
      dockerfile: raw.dockerfile,
      taskRoot: raw.taskRoot,
      same: raw.same,
      extraFolders: extraFolders(raw.taskRoot, raw.extraFolders ?? [], file),
      memoryBytes: raw.memoryMiB * MIB,
      // Unmeasured runtimes count as a generous 32 MiB, so a budget is never overrun by a guess too small.
      waitingBytes: (raw.waitingMiB ?? 32) * MIB,
      sameStartUpToBytes: raw.sameStartUpToMiB * MIB,
      sameStartFromBytes: (raw.sameStartFromMiB ?? 0) * MIB,
      startupEnv: new RegExp(raw.startupEnv),
    };
    recipes.push({ runtime: pack.runtime, dir: pack.dir, files: pack.files, settings, baseImage: () => baseImage(pack.runtime) });
  }
  return recipes;
}

/** cell.json's extra folders: absolute, plain, each outside the task folder and the others (each is its own mount). */
function extraFolders(taskRoot: string, folders: string[], file: string): string[] {
  const all = [taskRoot, ...folders];
  for (const folder of folders) {
    const inside = (a: string, b: string) => a === b || a.startsWith(`${b}/`);
    if (!path.posix.isAbsolute(folder) || path.posix.normalize(folder) !== folder || folder.endsWith('/') || all.some((other) => other !== folder && (inside(folder, other) || inside(other, folder)))) {
      throw new Error(`${file}: extra folder ${folder} must be an absolute path apart from the task folder and the others`);
    }
  }
  return folders;
}

/**
 * The recipe's image, `lambda/cell-<runtime>:<hash of base, Dockerfile and files>`, built (with no network) when
 * missing. Returns its tag, the base image it was built from, and the digest of each file or folder that must be the
 * same in a version's image (by its path in images), read once with the files the image gets.
 */
export async function ensureCellImage(
  images: Pick<Engine, 'imageExists' | 'buildImage'>,
  recipe: CellRecipe,
  workDir: string,
): Promise<{ tag: string; base: string; same: Map<string, string> }> {
  const base = await recipe.baseImage();
  const dockerfile = fs.readFileSync(path.join(recipe.dir, recipe.settings.dockerfile), 'utf8').replaceAll('{{BASE_IMAGE}}', base);
  const files = readFiles(recipe.dir, recipe.files);
  const hash = createHash('sha256').update(dockerfile);
  for (const [file, bytes] of files) hash.update(`\0${file}\0`).update(bytes);
  const tag = `lambda/cell-${recipe.runtime}:${hash.digest('hex').slice(0, 12)}`;
  const same = new Map<string, string>();
  for (const [name, inImage] of Object.entries(recipe.settings.same)) {
    const under = [...files].filter(([file]) => file === name || file.startsWith(`${name}/`)).map(([file, bytes]): [string, Buffer] => [file.slice(name.length + 1), bytes]);
    if (under.length === 0) throw new Error(`cell.json names ${name}, which is not among the buildpack's files`);
    same.set(inImage, filesDigest(under));
  }
  if (await images.imageExists(tag)) return { tag, base, same };
  fs.mkdirSync(workDir, { recursive: true });
  const context = fs.mkdtempSync(path.join(workDir, `cell-${recipe.runtime}-`));
  try {
    for (const [file, bytes] of files) {
      fs.mkdirSync(path.dirname(path.join(context, file)), { recursive: true });
      fs.writeFileSync(path.join(context, file), bytes);
    }
    fs.writeFileSync(path.join(context, 'Dockerfile'), dockerfile);
    await images.buildImage({ tag, contextDir: context }, () => {});
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
  return { tag, base, same };
}

/**
 * The digest that says two copies of a buildpack file or folder are the same: each file's path under it ('' for the
 * file itself) and its bytes, in path order, so a module changed, added or removed changes it.
 */
export function filesDigest(files: Iterable<[string, Buffer]>): string {
  const hash = createHash('sha256');
  for (const [file, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) hash.update(`${file}\0${bytes.length}\0`).update(bytes);
  return hash.digest('hex');
}

/** The buildpack's files by their path in the build context, in path order; a folder named in `files` gives every file under it. */
function readFiles(dir: string, names: string[]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const visit = (rel: string): void => {
    const full = path.join(dir, rel);
    if (!fs.statSync(full).isDirectory()) {
      files.set(rel, fs.readFileSync(full));
      return;
    }
    for (const name of fs.readdirSync(full).sort()) visit(`${rel}/${name}`);
  };
  for (const name of names) visit(name);
  return files;
}
