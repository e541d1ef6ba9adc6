// What a version needs to run in a runtime's cells: the runtime's stem-cell image, the check that the version's
// image is that image but for its task folder, and the version's files taken once from its image (kept on the
// host across restarts while the image exists, each distinct file once for all versions, within a bound).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { ensureCellImage, type CellRecipe } from '../../instances/cells/image.js';
import { extractVersion, linkTree, moveTree, readTree } from './files.js';
import { createFileStore } from './store.js';
import { dockerImages } from '../images.js';
import type { InstanceSpec } from '../../instances/engine.js';

/** How long after a staged tree is used the next one is staged: longer than a burst of cold starts lasts. */
const RESTAGE_AFTER_MS = 1000;

/** A runtime's stem-cell image and what a version image must share with it to run in its cells. */
export interface RuntimeImage {
  recipe: CellRecipe;
  tag: string;
  baseLayers: string[];
  /** Cmd, Entrypoint, User, WorkingDir: how the process starts. */
  start: string;
  env: Map<string, string>;
  same: Map<string, string>;
}

/** A version's files on the host, ready to be linked into a cell of `runtime`, and its image's environment. */
export interface Prepared {
  runtime: string;
  imageId: string;
  env: string[];
  /** Fills a cell's empty folders with the version's files: its task folder, then each of the recipe's extra folders. */
  link(to: string[]): Promise<void>;
}

export interface CellVersions {
  /** The runtime's stem-cell image, built on first use (a failure is kept a minute, then tried again). */
  runtimeImage(runtime: string): Promise<RuntimeImage>;
  /** Which runtime's cells run this version as its own container would, with its files made ready; undefined: start it classically. */
  prepare(spec: InstanceSpec): Promise<string | undefined>;
  /** What prepare() made ready for an image tag. */
  prepared(image: string): Promise<Prepared | null> | undefined;
  /** Forgets what was prepared for an image tag (the image was removed). */
  forget(image: string): void;
  /** Drops unfinished copies and the files of images that are gone. */
  prune(): Promise<void>;
  /** Drops the files of one image (its copy, staged trees) unless another prepared tag is the same image. */
  dropFiles(imageId: string): Promise<void>;
}

export interface CellVersionsOptions {
  docker: Docker;
  /** Where each version's files go: `<versionsDir>/<image id>`. */
  versionsDir: string;
  /** The distinct files of all versions' copies, which hard-link them (same file system as versionsDir). */
  storeDir: string;
  /** The most the copies and the store may take together; a version that would take them past it starts classically. */
  maxBytes: number;
  log?(line: string): void;
  /** Link trees made ahead for the next cell of each version (same file system as the cells' task folders). */
  stagedDir: string;
  /** Build contexts of stem-cell images. */
  buildDir: string;
  recipes: CellRecipe[];
  /** Labels of the short-lived (never started) containers files are read from. */
  filesLabels: Record<string, string>;
}

export function createCellVersions(options: CellVersionsOptions): CellVersions {
  const { docker, versionsDir, stagedDir } = options;
  for (const dir of [versionsDir, stagedDir, options.storeDir]) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const store = createFileStore(options.storeDir);
  /** Staged trees this process made or is making; any other in stagedDir is a leftover. */
  const staged = new Set<string>();
  const recipes = new Map(options.recipes.map((recipe) => [recipe.runtime, recipe]));
  const images = dockerImages(docker);
  const runtimeImages = new Map<string, Promise<RuntimeImage>>();
  const runtimeImage = (runtime: string): Promise<RuntimeImage> => {
    let found = runtimeImages.get(runtime);
    if (!found) {
      found = buildRuntimeImage(recipes.get(runtime) as CellRecipe);
      // A failure (the engine, the base image) is kept a minute, then tried again.
      found.catch(() => setTimeout(() => runtimeImages.delete(runtime), 60_000).unref());
      runtimeImages.set(runtime, found);
    }
    return found;
  };

  const buildRuntimeImage = async (recipe: CellRecipe): Promise<RuntimeImage> => {
    const { tag, base, same } = await ensureCellImage(images, recipe, options.buildDir);
    const [cell, baseInfo] = await Promise.all([docker.getImage(tag).inspect(), docker.getImage(base).inspect()]);
    return { recipe, tag, baseLayers: baseInfo.RootFS.Layers ?? [], start: startOf(cell), env: envMap(cell.Config.Env ?? []), same };
  };

  const byTag = new Map<string, Promise<Prepared | null>>();
  const extracting = new Map<string, Promise<Map<string, string> | null>>();

  /**
   * A version image's files made ready for its runtime's cells; null when they cannot run it. Only the task folder
   * is taken from the image, so the image must be the buildpack's: same base layers, same way to start, the same
   * runtime files. The caller has checked that the version was built by that runtime's buildpack: an image built
   * from a repository's own Dockerfile may pass these checks and still add files elsewhere, which a cell lacks.
   */
  const prepareImage = async (tag: string, runtime: string, fn: string): Promise<Prepared | null> => {
    const image = await docker.getImage(tag).inspect();
    const imageId = image.Id.replace(/^sha256:/, '');
    const cellImage = await runtimeImage(runtime);
    if (!startsWith(image.RootFS.Layers ?? [], cellImage.baseLayers) || startOf(image) !== cellImage.start) return null;
    const dir = path.join(versionsDir, imageId);
    const same = await filesOf(tag, imageId, dir, cellImage, fn);
    if (!same) return null;
    if (![...cellImage.same].every(([file, hash]) => same.get(file) === hash)) return null;
    const dirs = [dir, ...cellImage.recipe.settings.extraFolders.map((folder) => extraDir(dir, folder))];
    return { runtime, imageId, env: image.Config.Env ?? [], link: stager(imageId, dirs) };
  };

  /**
   * The version's task folder on the host (taken from its image once, kept across restarts), its extra folders beside
   * it, and its same-file hashes; null when its files would take the cells' copies past their bound. Its files are
   * shared with the copies of the function's other versions.
   */
  const filesOf = (tag: string, imageId: string, dir: string, cellImage: RuntimeImage, fn: string): Promise<Map<string, string> | null> => {
    let found = extracting.get(imageId);
    if (!found) {
      found = (async () => {
        const meta = `${dir}.json`;
        const { taskRoot, extraFolders } = cellImage.recipe.settings;
        const extras = extraFolders.map((folder): [string, string] => [folder, extraDir(dir, folder)]);
        if ([dir, meta, ...extras.map(([, host]) => host)].every((file) => fs.existsSync(file))) {
          return new Map(Object.entries(JSON.parse(fs.readFileSync(meta, 'utf8')) as Record<string, string>));
        }
        for (const host of [dir, ...extras.map(([, extra]) => extra)]) {
          for (const file of [host, `${host}.new`]) fs.rmSync(file, { recursive: true, force: true });
        }
        fs.rmSync(meta, { force: true });
        const folders = [[taskRoot, dir] as [string, string], ...extras].map(([inImage, host]): [string, string] => [inImage, `${host}.new`]);
        const hashes = await extractVersion(docker, tag, folders, [...cellImage.same.keys()], options.filesLabels);
        for (const [, host] of folders) await store.share(host, fn);
        const used = await store.usage([versionsDir, options.storeDir]);
        if (used > options.maxBytes) {
          for (const [, host] of folders) await fs.promises.rm(host, { recursive: true, force: true });
          await store.sweep();
          options.log?.(`cells: the files of image ${imageId.slice(0, 12)} would take the cells' copies to ${used} bytes, past LAMBDA_MAX_CELL_FILES (${options.maxBytes}): its versions start as their own containers`);
          return null;
        }
        // The hashes go first, the task folder last: a task folder is only ever seen with them and its extra folders.
        fs.writeFileSync(meta, JSON.stringify(Object.fromEntries(hashes)));
        for (const [, host] of extras) fs.renameSync(`${host}.new`, host);
        fs.renameSync(`${dir}.new`, dir);
        return hashes;
      })();
      found.catch(() => extracting.delete(imageId));
      extracting.set(imageId, found);
    }
    return found;
  };

  // Staging, one tree at a time: a restart preparing many versions does not flood the disk or the thread pool.
  let stagingQueue: Promise<void> = Promise.resolve();

  /**
   * Links a version's files (the host folders `dirs`) into cells. A tree of links is staged ahead, one per folder, so
   * a cold start moves a few top-level entries (node_modules is one rename) instead of linking thousands of files;
   * the next is staged after each use. No listing is kept in memory: it is read from the host folder when a tree is made.
   */
  const stager = (imageId: string, dirs: string[]): Prepared['link'] => {
    let ready: string | undefined;
    let staging: Promise<void> | undefined;
    const restage = (): void => {
      if (ready || staging) return;
      const target = path.join(stagedDir, `${imageId}-${randomBytes(4).toString('hex')}`);
      staged.add(target);
      staging = stagingQueue = stagingQueue
        .then(async () => {
          await fs.promises.mkdir(target, { mode: 0o700 });
          for (const [i, dir] of dirs.entries()) {
            await fs.promises.mkdir(path.join(target, String(i)), { mode: 0o700 });
            await linkTree(await readTree(dir), dir, path.join(target, String(i)));
          }
          ready = target;
        })
        .catch(async () => {
          staged.delete(target);
          await fs.promises.rm(target, { recursive: true, force: true });
        })
        .finally(() => {
          staging = undefined;
        });
    };
    restage();
    return async (to) => {
      const take = ready;
      ready = undefined;
      if (take) {
        try {
          await Promise.all(to.map((folder, i) => moveTree(path.join(take, String(i)), folder)));
          await fs.promises.rmdir(take);
        } finally {
          // Only now is it no longer this process's: a prune meanwhile leaves a tree being moved alone.
          staged.delete(take);
        }
      } else {
        for (const [i, dir] of dirs.entries()) await linkTree(await readTree(dir), dir, to[i]);
      }
      // The next tree is staged once the burst this start may be part of is over: staging competes with its other
      // cold starts for the disk, the thread pool and the event loop, and a start without a staged tree still works.
      setTimeout(restage, RESTAGE_AFTER_MS).unref();
    };
  };

  return {
    runtimeImage,
    async prepare(spec) {
      // A `docker`-runtime version (or one whose runtime is not recorded) always starts as its own container.
      const { runtime } = spec;
      if (runtime === undefined || !recipes.has(runtime)) return undefined;
      let prepared = byTag.get(spec.image);
      if (!prepared) {
        prepared = prepareImage(spec.image, runtime, spec.fn);
        prepared.catch(() => byTag.delete(spec.image));
        byTag.set(spec.image, prepared);
      }
      const found = await prepared;
      if (!found) return undefined;
      const cellImage = await runtimeImage(found.runtime);
      const { settings } = cellImage.recipe;
      if (spec.memoryBytes > settings.sameStartUpToBytes || spec.memoryBytes < settings.sameStartFromBytes) return undefined;
      // A variable read only at process start must start a process: the version's own, or one its image sets differently.
      const imageEnv = envMap(found.env);
      const startup = [...Object.keys(spec.env), ...[...imageEnv.keys()].filter((key) => imageEnv.get(key) !== cellImage.env.get(key))];
      if (startup.some((key) => settings.startupEnv.test(key))) return undefined;
      return found.runtime;
    },

    prepared: (image) => byTag.get(image),

    forget(image) {
      byTag.delete(image);
    },

    async dropFiles(imageId) {
      const id = imageId.replace(/^sha256:/, '');
      if (!/^[0-9a-f]{64}$/.test(id)) return;
      // Kept while another tag this server prepared is the same image (equal builds share an id); a version not
      // prepared yet that shares it only has its files taken again.
      for (const prepared of byTag.values()) {
        const found = await prepared.catch(() => null);
        if (found?.imageId === id) return;
      }
      extracting.delete(id);
      // A deleted function's files go now, not at the next restart's prune.
      for (const entry of fs.readdirSync(stagedDir)) {
        if (!entry.startsWith(`${id}-`)) continue;
        staged.delete(path.join(stagedDir, entry));
        await fs.promises.rm(path.join(stagedDir, entry), { recursive: true, force: true });
      }
      for (const entry of fs.readdirSync(versionsDir)) {
        if (entry === id || entry.startsWith(`${id}.`)) await fs.promises.rm(path.join(versionsDir, entry), { recursive: true, force: true });
      }
      await store.sweep();
    },

    async prune() {
      const present = new Set((await docker.listImages({ all: true })).map((image) => image.Id.replace(/^sha256:/, '')));
      for (const entry of fs.readdirSync(versionsDir)) {
        if (entry.endsWith('.new') || entry.includes('.partial-') || !present.has(entry.split('.')[0])) {
          fs.rmSync(path.join(versionsDir, entry), { recursive: true, force: true });
        }
      }
      for (const entry of fs.readdirSync(stagedDir)) {
        if (!staged.has(path.join(stagedDir, entry))) fs.rmSync(path.join(stagedDir, entry), { recursive: true, force: true });
      }
      await store.sweep();
    },
  };
}

/** Where a version's copy of an extra folder is kept on the host: beside its task folder, named after the folder. */
export function extraDir(dir: string, folder: string): string {
  return `${dir}.${folder.replace(/^\//, '').replaceAll('/', '-')}`;
}

function startOf(image: Docker.ImageInspectInfo): string {
  const { Cmd, Entrypoint, User, WorkingDir } = image.Config;
  return JSON.stringify([Cmd ?? null, Entrypoint ?? null, User ?? '', WorkingDir ?? '']);
}

function startsWith(layers: string[], prefix: string[]): boolean {
  return prefix.length > 0 && prefix.length <= layers.length && prefix.every((layer, i) => layers[i] === layer);
}

/** `KEY=value` entries as a map; a later entry wins, as in a container's environment. */
export function envMap(entries: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq > 0) map.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return map;
}
