// Reading one file of a pushed repository on the host: a regular file only (a link could point at a host file),
// under a size bound, opened without following links.
import fs from 'node:fs';
import path from 'node:path';
import { LambdaError } from '../errors.js';

const KIB = 1024;
const MIB = 1024 * KIB;

/** The file `name` at the top of `codeDir`; undefined when there is none. Throws LAMBDA_ERR_BUILD_FAILED for a link, a folder or a file over `maxBytes`. */
export function readRepositoryFile(codeDir: string, name: string, maxBytes: number): Buffer | undefined {
  const file = path.join(codeDir, name);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return undefined;
  }
  if (!stat.isFile()) throw failed(`${name} must be a regular file, not a link or a folder`);
  if (stat.size > maxBytes) throw failed(`${name} is over ${maxBytes % MIB === 0 ? `${maxBytes / MIB} MiB` : `${maxBytes / KIB} KiB`}`);
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function failed(detail: string): LambdaError {
  return new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail });
}
