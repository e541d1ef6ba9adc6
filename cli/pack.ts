// Packing a function directory into the gzipped tar that `lambda deploy` uploads.
import { readdir, stat } from 'node:fs/promises';
import { create } from 'tar';
import { usageError } from './errors.js';

/** Never uploaded: git's own data is not part of the function (node_modules is: it may be vendored on purpose). */
const SKIPPED = new Set(['.git']);

/** The top-level entries of `dir` to pack; a missing or empty directory is a usage error. */
export async function entriesToPack(dir: string): Promise<string[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw usageError(`${dir} is not a directory`);
  const entries = (await readdir(dir)).filter((entry) => !SKIPPED.has(entry)).sort();
  if (entries.length === 0) throw usageError(`nothing to deploy: ${dir} is empty`);
  return entries;
}

/** Gzipped tar of `entries` under `dir` (skipping `.git` at any depth), paths relative to `dir`, no owner names. */
export async function packEntries(dir: string, entries: readonly string[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = create(
    { gzip: true, cwd: dir, portable: true, filter: (path) => !path.split('/').some((part) => SKIPPED.has(part)) },
    [...entries],
  );
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
