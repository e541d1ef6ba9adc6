// A buildpack's stem-cell recipe (its cell.json) and the stem-cell image built from it: the runtime's base image
// plus the very files every version image carries (the shim), with nothing of any version in it.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Engine } from './engine.js';

const MIB = 1024 * 1024;

/** What buildpacks/<runtime>/cell.json says about the runtime's cells. */
export interface CellSettings {
  /** The stem Dockerfile in the buildpack folder; `{{BASE_IMAGE}}` is filled in. */
  dockerfile: string;
  /** Where a version's own files are in its image, and where a cell mounts them. */
  taskRoot: string;
  /** Buildpack file → its path in images: the same file must be in the version's image, or it starts classically. */
  same: Record<string, string>;
  /** The memory limit cells boot with. */
  memoryBytes: number;
  /** A version whose memory is above this starts classically: the runtime sizes itself at boot by the limit (V8's heap does above 512 MiB). */
  sameStartUpToBytes: number;
  /** Variables the runtime reads only when its process starts (NODE_OPTIONS, …): a version setting one starts classically. */
  startupEnv: RegExp;
}

export interface CellRecipe {
  runtime: string;
  /** The buildpack folder. */
  dir: string;
  /** The buildpack files copied into every version image (buildpack.json's `files`): the cell image gets the same. */
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
      memoryMiB: number;
      sameStartUpToMiB: number;
      startupEnv: string;
    };
    const settings: CellSettings = {
      dockerfile: raw.dockerfile,
      taskRoot: raw.taskRoot,
      same: raw.same,
      memoryBytes: raw.memoryMiB * MIB,
      sameStartUpToBytes: raw.sameStartUpToMiB * MIB,
      startupEnv: new RegExp(raw.startupEnv),
    };
    recipes.push({ runtime: pack.runtime, dir: pack.dir, files: pack.files, settings, baseImage: () => baseImage(pack.runtime) });
  }
  return recipes;
}

/**
 * The recipe's image, `lambda/cell-<runtime>:<hash of base, Dockerfile and files>`, built (with no network) when
 * missing. Returns its tag, the base image it was built from, and the sha256 of each file that must be the same in
 * a version's image (by its path in images), read once with the files the image gets.
 */
export async function ensureCellImage(
  images: Pick<Engine, 'imageExists' | 'buildImage'>,
  recipe: CellRecipe,
  workDir: string,
): Promise<{ tag: string; base: string; same: Map<string, string> }> {
  const base = await recipe.baseImage();
  const dockerfile = fs.readFileSync(path.join(recipe.dir, recipe.settings.dockerfile), 'utf8').replaceAll('{{BASE_IMAGE}}', base);
  const files = new Map(recipe.files.map((file) => [file, fs.readFileSync(path.join(recipe.dir, file))]));
  const hash = createHash('sha256').update(dockerfile);
  for (const [file, bytes] of files) hash.update(`\0${file}\0`).update(bytes);
  const tag = `lambda/cell-${recipe.runtime}:${hash.digest('hex').slice(0, 12)}`;
  const same = new Map<string, string>();
  for (const [file, inImage] of Object.entries(recipe.settings.same)) {
    const bytes = files.get(file);
    if (!bytes) throw new Error(`cell.json names ${file}, which is not among the buildpack's files`);
    same.set(inImage, createHash('sha256').update(bytes).digest('hex'));
  }
  if (await images.imageExists(tag)) return { tag, base, same };
  fs.mkdirSync(workDir, { recursive: true });
  const context = fs.mkdtempSync(path.join(workDir, `cell-${recipe.runtime}-`));
  try {
    for (const [file, bytes] of files) fs.writeFileSync(path.join(context, file), bytes);
    fs.writeFileSync(path.join(context, 'Dockerfile'), dockerfile);
    await images.buildImage({ tag, contextDir: context }, () => {});
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
  return { tag, base, same };
}
