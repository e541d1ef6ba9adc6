// A version's own files for cells: taken once from the version's image with the engine's archive API into a host
// folder, then hard-linked into each cell's read-only task folder. The image stays the record of what was built.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import { extract, Parser, type ReadEntry } from 'tar';
import { filesDigest } from '../../instances/cells/image.js';
import { removeContainer, statusOf } from '../containers.js';

/** One entry of a version's task folder, in an order where each folder comes before what it holds. */
export type TreeEntry =
  | { kind: 'dir'; rel: string; mode: number; uid: number; gid: number }
  | { kind: 'file'; rel: string }
  | { kind: 'link'; rel: string; target: string; uid: number; gid: number };

/** The kinds of archive entries a task folder may hold; devices, FIFOs and the like are left out. */
const KEPT = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);
const AS_ROOT = process.getuid?.() === 0;

/**
 * Copies each folder of `folders` (its path in `image` → a host folder, made atomically: a half-copied folder is
 * never seen; a folder the image lacks is copied as an empty one) and returns the digest of each file or folder of
 * `same` (paths in the image; missing ones are left out), as filesDigest makes it. The image is never run: its
 * container is created, read and removed.
 */
export async function extractVersion(
  docker: Docker,
  image: string,
  folders: [inImage: string, dir: string][],
  same: string[],
  labels: Record<string, string>,
): Promise<Map<string, string>> {
  const container = await docker.createContainer({ Image: image, Labels: labels, NetworkDisabled: true, HostConfig: { NetworkMode: 'none' } });
  try {
    const hashes = new Map<string, string>();
    for (const file of same) {
      const digest = await readDigest(container, file);
      if (digest) hashes.set(file, digest);
    }
    for (const [inImage, dir] of folders) await extractFolder(container, inImage, dir);
    return hashes;
  } finally {
    await removeContainer(docker, container.id).catch(() => {});
  }
}

/** Copies the folder `inImage` of the container's filesystem into the host folder `dir`, made atomically. */
async function extractFolder(container: Docker.Container, inImage: string, dir: string): Promise<void> {
  const partial = `${dir}.partial-${randomBytes(4).toString('hex')}`;
  try {
    fs.mkdirSync(partial, { mode: 0o700 });
    let root: { mode: number; uid: number; gid: number } | undefined;
    let archive: NodeJS.ReadableStream | undefined;
    try {
      archive = (await container.getArchive({ path: inImage })) as NodeJS.ReadableStream;
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    if (archive) {
      await pipeline(
        archive,
        extract({
          cwd: partial,
          strip: 1,
          // Modes as in the image (no umask), owners too when the server runs as root; set-id bits are dropped
          // (no-new-privileges ignores them in the container anyway, and the host keeps none).
          chmod: true,
          processUmask: 0,
          preserveOwner: AS_ROOT,
          filter: (entryPath: string, entry: ReadEntry | fs.Stats) => {
            if (!('type' in entry)) return false;
            if (entry.mode !== undefined) entry.mode &= 0o1777;
            if (!entryPath.includes('/') || /^[^/]+\/$/.test(entryPath)) {
              // The folder itself: its mode and owner are applied to the copy below.
              root = { mode: (entry.mode ?? 0o755) & 0o1777, uid: entry.uid ?? 0, gid: entry.gid ?? 0 };
              return false;
            }
            return KEPT.has(entry.type);
          },
        }),
      );
    }
    if (root) {
      fs.chmodSync(partial, root.mode);
      if (AS_ROOT) fs.chownSync(partial, root.uid, root.gid);
    } else {
      fs.chmodSync(partial, 0o755);
    }
    fs.renameSync(partial, dir);
  } catch (error) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw error;
  }
}

/** The digest of the file or folder at `file` in the container's filesystem, or undefined when there is none. */
async function readDigest(container: Docker.Container, file: string): Promise<string | undefined> {
  let archive: NodeJS.ReadableStream;
  try {
    archive = (await container.getArchive({ path: file })) as NodeJS.ReadableStream;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
  return archiveDigest(archive);
}

/**
 * The filesDigest of what the engine's archive of one path holds (its entries start with the path's own name: a
 * folder's files are found under it, a file is that name alone), or undefined when it holds no file.
 */
export async function archiveDigest(archive: NodeJS.ReadableStream): Promise<string | undefined> {
  const files: [string, Buffer][] = [];
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      if (entry.type !== 'File') {
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      const rel = entry.path.split('/').slice(1).join('/');
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => files.push([rel, Buffer.concat(chunks)]));
    },
  });
  await pipeline(archive, parser);
  return files.length > 0 ? filesDigest(files) : undefined;
}

/** Lists a version's task folder (once per server process; cells get hard links of what it lists). */
export async function readTree(dir: string): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  const visit = async (rel: string): Promise<void> => {
    const full = path.join(dir, rel);
    const stat = await fs.promises.lstat(full);
    entries.push({ kind: 'dir', rel, mode: stat.mode & 0o1777, uid: stat.uid, gid: stat.gid });
    const folders: string[] = [];
    for (const item of await fs.promises.readdir(full, { withFileTypes: true })) {
      const child = path.join(rel, item.name);
      if (item.isDirectory()) folders.push(child);
      else if (item.isFile()) entries.push({ kind: 'file', rel: child });
      else if (item.isSymbolicLink()) {
        const link = await fs.promises.lstat(path.join(dir, child));
        entries.push({ kind: 'link', rel: child, target: await fs.promises.readlink(path.join(dir, child)), uid: link.uid, gid: link.gid });
      }
    }
    for (const folder of folders) await visit(folder);
  };
  await visit('');
  return entries;
}

/** Link operations in flight at once: enough to keep the disk busy, few enough for the event loop. */
const BATCH = 64;

/**
 * Fills the empty folder `to` with hard links to the files under `from` (read-only in the cell, so shared inodes
 * cannot be changed), copies of its symbolic links and folders with the same modes and owners. Links are never
 * followed on the host. Asynchronous: a version with thousands of files does not stall the server.
 */
export async function linkTree(tree: TreeEntry[], from: string, to: string): Promise<void> {
  // Folders first, each before what it holds (the tree lists them in that order).
  for (const entry of tree) {
    if (entry.kind === 'dir' && entry.rel !== '') await fs.promises.mkdir(path.join(to, entry.rel), { mode: 0o700 });
  }
  const leaves = tree.filter((entry) => entry.kind !== 'dir');
  for (let i = 0; i < leaves.length; i += BATCH) {
    await Promise.all(
      leaves.slice(i, i + BATCH).map(async (entry) => {
        const target = path.join(to, entry.rel);
        if (entry.kind === 'file') await linkOrCopy(path.join(from, entry.rel), target);
        else if (entry.kind === 'link') {
          await fs.promises.symlink(entry.target, target);
          if (AS_ROOT) await fs.promises.lchown(target, entry.uid, entry.gid);
        }
      }),
    );
  }
  // Folder modes last: a read-only one must not stop what goes in it.
  for (const entry of tree) {
    if (entry.kind !== 'dir') continue;
    const target = path.join(to, entry.rel);
    await fs.promises.chmod(target, entry.mode);
    if (AS_ROOT) await fs.promises.chown(target, entry.uid, entry.gid);
  }
}

/**
 * A hard link to `from` at `to`; a copy with the same mode, owner and times when the file already has as many links
 * as its file system allows (files shared between versions gather a link per cell).
 */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await fs.promises.link(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EMLINK') throw error;
    const stat = await fs.promises.stat(from);
    await fs.promises.copyFile(from, to);
    await fs.promises.chmod(to, stat.mode & 0o1777);
    if (AS_ROOT) await fs.promises.chown(to, stat.uid, stat.gid);
    await fs.promises.utimes(to, stat.atime, stat.mtime);
  }
}

/**
 * Moves a tree linkTree() staged in `staged` into the empty folder `to`: one rename per top-level entry, however
 * many files it holds, then the task folder's own mode and owner. Both folders are on the same file system. Every
 * call is asynchronous: a burst of cold starts moves many trees at once, and the event loop serves them all meanwhile.
 */
export async function moveTree(staged: string, to: string): Promise<void> {
  const root = await fs.promises.lstat(staged);
  // The staged root took the task folder's mode, which may not let the server's own user take entries out.
  await fs.promises.chmod(staged, 0o700);
  await Promise.all((await fs.promises.readdir(staged)).map((name) => fs.promises.rename(path.join(staged, name), path.join(to, name))));
  await fs.promises.chmod(to, root.mode & 0o1777);
  if (AS_ROOT) await fs.promises.chown(to, root.uid, root.gid);
  await fs.promises.rmdir(staged);
}
