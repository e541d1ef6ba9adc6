// Unpacks an uploaded .tar.gz straight from the request to a folder, never whole in memory, refusing every
// entry that could reach outside it or fill the disk: "..", absolute paths, escaping symlinks, hard links,
// devices, and more than the allowed compressed or expanded size.
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type http from 'node:http';
import { Unpack, type ReadEntry } from 'tar';
import { LambdaError } from '../errors.js';

export interface UploadLimits {
  /** Compressed bytes the request may carry. */
  maxBytes: number;
  /** Bytes the files may take once unpacked. */
  maxExpandedBytes: number;
  /** The upload is dropped when no data arrives for this long. */
  idleMs: number;
}

const megabytes = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

/** Throws LAMBDA_ERR_BODY_TOO_LARGE, LAMBDA_ERR_BODY_TIMEOUT or LAMBDA_ERR_BAD_REQUEST naming the entry refused. */
export async function receiveArchive(req: http.IncomingMessage, dir: string, limits: UploadLimits): Promise<void> {
  if (Number(req.headers['content-length'] ?? 0) > limits.maxBytes) {
    req.resume();
    throw new LambdaError('LAMBDA_ERR_BODY_TOO_LARGE', { limit: megabytes(limits.maxBytes) });
  }
  let refused: LambdaError | undefined;
  let expanded = 0;
  const unpack = new Unpack({
    cwd: dir,
    strict: true,
    filter: (entryPath: string, entry: ReadEntry | import('node:fs').Stats) => {
      const problem = entryProblem(entryPath, entry as ReadEntry);
      expanded += (entry as ReadEntry).size ?? 0;
      if (!problem && expanded > limits.maxExpandedBytes) {
        refused = new LambdaError('LAMBDA_ERR_BODY_TOO_LARGE', { limit: `${megabytes(limits.maxExpandedBytes)} unpacked` });
      } else if (problem) {
        refused = new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `the upload's entry "${printable(entryPath)}" ${problem}` });
      }
      if (refused) unpack.abort(refused);
      return !refused;
    },
  });
  try {
    await pipeline(req, limitBytes(limits.maxBytes, limits.idleMs), unpack);
  } catch (error) {
    if (refused) throw refused;
    if (error instanceof LambdaError) throw error;
    throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `the upload is not a tar.gz archive: ${(error as Error).message}` });
  }
  if (refused) throw refused;
}

/** Why an entry may not be unpacked, or undefined when it may. */
export function entryProblem(entryPath: string, entry: Pick<ReadEntry, 'type' | 'linkpath'>): string | undefined {
  if (path.isAbsolute(entryPath) || entryPath.split(/[\\/]/).includes('..')) return 'points outside the folder';
  switch (entry.type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
    case 'Directory':
      return undefined;
    case 'SymbolicLink': {
      const target = entry.linkpath ?? '';
      const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(entryPath), target));
      if (path.posix.isAbsolute(target) || resolved === '..' || resolved.startsWith('../')) return `is a link to "${printable(target)}", outside the folder`;
      return undefined;
    }
    case 'Link':
      return 'is a hard link (not allowed)';
    default:
      return `is a ${entry.type} (only files, folders and links inside the folder are allowed)`;
  }
}

function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

/** Passes bytes through up to `max`, and fails when the client stalls for `idleMs`. */
function limitBytes(max: number, idleMs: number): Transform {
  let seen = 0;
  let timer: NodeJS.Timeout | undefined;
  const stream: Transform = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length;
      arm();
      if (seen > max) callback(new LambdaError('LAMBDA_ERR_BODY_TOO_LARGE', { limit: megabytes(max) }));
      else callback(null, chunk);
    },
    flush(callback) {
      clearTimeout(timer);
      callback();
    },
    destroy(error, callback) {
      clearTimeout(timer);
      callback(error);
    },
  });
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stream.destroy(new LambdaError('LAMBDA_ERR_BODY_TIMEOUT', { idle: `${idleMs} ms` })), idleMs);
  };
  arm();
  return stream;
}
