// The cells' content store: each distinct file of a function's versions' copies (its bytes, mode, owner and
// modification time) is kept once and hard-linked into every copy that holds it, so a push that changed only its
// code costs only the files it changed; and what all copies take on disk together, each file counted once.
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { readTree } from './files.js';

/** Files hashed at once while a copy is shared. */
const BATCH = 16;
/**
 * Copies linked to one stored file at most. Every cell of a version adds a link per copy again, and file systems
 * bound an inode's links (ext4: 65,000): a file repeated thousands of times (an empty one, a common licence) stops
 * being shared past this, and empty files never are (they take no space).
 */
export const MAX_SHARES = 256;

export interface FileStore {
  /**
   * Replaces each regular file under the folder `dir` by a hard link to the store's file with the same bytes, mode,
   * owner and modification time among those of `scope` (a function), storing the ones it lacks. What a function
   * sees in the copy is unchanged. Files are shared within a function only: a file's link count, which a function
   * can read, then never tells it that another function holds the same file.
   */
  share(dir: string, scope: string): Promise<void>;
  /** Removes the stored files no copy holds any more, and what an earlier process left half-made. */
  sweep(): Promise<void>;
  /** The bytes of the distinct files under `dirs` (a file linked in several places counts once). */
  usage(dirs: string[]): Promise<number>;
}

export function createFileStore(storeDir: string): FileStore {
  // This process's scratch: links are made here, then renamed over a copy's file in one step.
  const scratch = path.join(storeDir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(scratch, { recursive: true, mode: 0o700 });

  const shareFile = async (file: string, folder: string): Promise<void> => {
    const stat = await fs.promises.lstat(file, { bigint: true });
    if (!stat.isFile() || stat.size === 0n) return;
    // A file the server may not read (mode 000 in the image, a server that is not root) keeps its own copy.
    const digest = await sha256(file).catch(() => undefined);
    if (!digest) return;
    const key = `${digest}-${(stat.mode & 0o7777n).toString(8)}-${stat.uid}-${stat.gid}-${stat.mtimeNs}`;
    const stored = path.join(folder, key);
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await fs.promises.lstat(stored).catch(() => undefined);
      if (existing && existing.ino === Number(stat.ino)) return;
      if (existing) {
        if (existing.nlink >= MAX_SHARES) return;
        const link = path.join(scratch, randomBytes(8).toString('hex'));
        try {
          await fs.promises.link(stored, link);
        } catch (error) {
          // Swept a moment ago: this copy's file becomes the stored one. Too many links: it keeps its own.
          if (code(error) === 'ENOENT') continue;
          if (code(error) === 'EMLINK') return;
          throw error;
        }
        await fs.promises.rename(link, file);
        return;
      }
      await fs.promises.mkdir(path.dirname(stored), { recursive: true, mode: 0o700 });
      try {
        await fs.promises.link(file, stored);
        return;
      } catch (error) {
        // Another copy stored the same file first: share that one. The folder was swept empty: made again.
        if (code(error) !== 'EEXIST' && code(error) !== 'ENOENT') throw error;
      }
    }
  };

  return {
    async share(dir, scope) {
      const folder = path.join(storeDir, createHash('sha256').update(scope).digest('hex').slice(0, 32));
      const tree = await readTree(dir);
      // A read-only folder of the copy is opened for the renames, then given its mode back.
      const closed = tree.flatMap((entry) => (entry.kind === 'dir' && (entry.mode & 0o200) === 0 ? [entry] : []));
      for (const entry of closed) await fs.promises.chmod(path.join(dir, entry.rel), entry.mode | 0o200);
      try {
        const files = tree.filter((entry) => entry.kind === 'file');
        for (let i = 0; i < files.length; i += BATCH) {
          await Promise.all(files.slice(i, i + BATCH).map((entry) => shareFile(path.join(dir, entry.rel), folder)));
        }
      } finally {
        for (const entry of closed.reverse()) await fs.promises.chmod(path.join(dir, entry.rel), entry.mode);
      }
    },

    async sweep() {
      for (const name of await fs.promises.readdir(storeDir)) {
        const folder = path.join(storeDir, name);
        if (name.startsWith('.tmp-')) {
          if (folder !== scratch) await fs.promises.rm(folder, { recursive: true, force: true });
          continue;
        }
        let kept = 0;
        for (const file of await fs.promises.readdir(folder)) {
          const stat = await fs.promises.lstat(path.join(folder, file)).catch(() => undefined);
          // Linked nowhere but here. A copy that takes it at this moment keeps its link when the store's name goes.
          if (stat?.nlink === 1) await fs.promises.rm(path.join(folder, file), { force: true });
          else kept++;
        }
        // A function's folder is made again by its next share.
        if (kept === 0) await fs.promises.rmdir(folder).catch(() => {});
      }
    },

    async usage(dirs) {
      const seen = new Set<number>();
      let bytes = 0;
      const visit = async (dir: string): Promise<void> => {
        const entries = await fs.promises.readdir(dir, { withFileTypes: true }).catch(() => []);
        for (const entry of entries) {
          const full = path.join(dir, entry.name);
          if (entry.isDirectory()) await visit(full);
          else if (entry.isFile()) {
            const stat = await fs.promises.lstat(full).catch(() => undefined);
            if (stat && !seen.has(stat.ino)) {
              seen.add(stat.ino);
              bytes += stat.size;
            }
          }
        }
      };
      for (const dir of dirs) await visit(dir);
      return bytes;
    },
  };
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}
