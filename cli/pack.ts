// Packing a function directory into the gzipped tar that `lambda deploy` uploads, and refusing what cannot be packed.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dirent } from 'node:fs';
import { create } from 'tar';
import { CliError, EXIT, usageError } from './errors.js';

/** Never uploaded: git's own data is not part of the function (node_modules is: it may be vendored on purpose). */
const SKIPPED = new Set(['.git']);

/** The server refuses a function without it; saying so here spares packing and uploading the whole folder first. */
const MANIFEST = 'lambda.yaml';

/**
 * The top-level entries of `dir` to pack. A missing or empty directory, a missing lambda.yaml, or a socket, FIFO
 * or device anywhere in it is a usage error naming the path: tar cannot store a socket (it waits on it forever) and
 * stores a FIFO as an entry the server rejects, so both are refused here where the path can still be named.
 */
export async function entriesToPack(dir: string): Promise<string[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw usageError(`${dir} is not a directory`);
  const entries = (await listDir(dir)).filter((entry) => !SKIPPED.has(entry.name));
  if (entries.length === 0) throw usageError(`nothing to deploy: ${dir} is empty`);
  const manifest = await stat(join(dir, MANIFEST)).catch(() => undefined);
  if (!manifest?.isFile()) {
    throw new CliError(`${MANIFEST} is missing in ${dir}: every function needs one at its root (see \`lambda validate\`)`, {
      code: 'LAMBDA_ERR_MANIFEST_MISSING',
      exitStatus: EXIT.usage,
    });
  }
  await refuseSpecialFiles(dir, dir, entries);
  return entries.map((entry) => entry.name).sort();
}

async function listDir(path: string): Promise<Dirent[]> {
  try {
    return await readdir(path, { withFileTypes: true });
  } catch (error) {
    throw usageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

async function refuseSpecialFiles(root: string, dir: string, entries: readonly Dirent[]): Promise<void> {
  for (const entry of entries) {
    if (SKIPPED.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      await refuseSpecialFiles(root, path, await listDir(path));
      continue;
    }
    const kind = specialKind(entry);
    if (kind) throw usageError(`${path} is a ${kind}: deploy packs only files, folders and symbolic links; move it out of ${root}`);
  }
}

function specialKind(entry: Dirent): string | undefined {
  if (entry.isSocket()) return 'socket';
  if (entry.isFIFO()) return 'FIFO';
  if (entry.isBlockDevice() || entry.isCharacterDevice()) return 'device';
  return undefined;
}

/**
 * Gzipped tar of `entries` under `dir` (skipping `.git` at any depth), paths relative to `dir`, no owner names.
 * A file tar cannot read fails the whole pack with its path and reason, rather than leaving it out of the upload.
 */
export async function packEntries(dir: string, entries: readonly string[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let problem: string | undefined;
  const stream = create(
    {
      gzip: true,
      cwd: dir,
      portable: true,
      filter: (path) => !path.split('/').some((part) => SKIPPED.has(part)),
      onwarn: (_code, message, data) => {
        const path = (data as { path?: unknown } | undefined)?.path;
        problem ??= `${typeof path === 'string' ? `${join(dir, path)}: ` : ''}${message}`;
      },
    },
    [...entries],
  );
  try {
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  } catch (error) {
    problem ??= error instanceof Error ? error.message : String(error);
  }
  if (problem !== undefined) throw new CliError(`cannot pack ${dir}: ${problem}`);
  return Buffer.concat(chunks);
}
