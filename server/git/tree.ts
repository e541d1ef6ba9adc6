// A folder's files stored as one git tree byte for byte: no attribute, filter or line-ending rule of the folder or of
// this machine's git applies, and `.gitignore` only when the caller asks (a folder deploy honours it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, type ExecFileOptions } from 'node:child_process';
import { LambdaError } from '../errors.js';

export interface TreeOptions {
  /** Leave out what the folder's `.gitignore` files name (a deploy of a folder); otherwise every file is stored. */
  honourGitignore: boolean;
}

interface Entry {
  path: Buffer;
  mode: '100644' | '100755' | '120000';
}

/** Writes the files of `workTree` into the bare repository `gitDir` and returns the tree's id. */
export async function writeTree(gitDir: string, workTree: string, options: TreeOptions): Promise<string> {
  const indexDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-index-'));
  const env = { ...process.env, GIT_DIR: gitDir, GIT_WORK_TREE: workTree, GIT_INDEX_FILE: path.join(indexDir, 'index') };
  const git = (args: string[], input?: Buffer) => gitBytes(args, { env, cwd: workTree }, input);
  try {
    // Paths come and go as bytes: a name need not be UTF-8.
    const listing = await git(['ls-files', '-z', '--others', ...(options.honourGitignore ? ['--exclude-per-directory=.gitignore'] : [])]);
    const entries = splitNul(listing).map((relative) => entryOf(workTree, relative));
    const files = entries.filter((entry) => entry.mode !== '120000');
    const links = entries.filter((entry) => entry.mode === '120000');
    if (files.length > 0) {
      // --no-filters: the bytes as they are, whatever a .gitattributes says (eol, text, filter, ident, working-tree-encoding).
      const ids = (await git(['hash-object', '-w', '--no-filters', '--stdin-paths'], Buffer.concat(files.map((entry) => quoted(entry.path)))))
        .toString('latin1')
        .trim()
        .split('\n');
      if (ids.length !== files.length) throw new Error(`git hash-object returned ${ids.length} ids for ${files.length} files`);
      const lines = files.map((entry, i) => Buffer.concat([Buffer.from(`${entry.mode} ${ids[i]}\t`), entry.path, Buffer.from([0])]));
      await git(['update-index', '-z', '--index-info'], Buffer.concat(lines));
    }
    // A link's blob is its target as written; no attribute ever applies to a link.
    if (links.length > 0) await git(['update-index', '--add', '-z', '--stdin'], Buffer.concat(links.map((entry) => Buffer.concat([entry.path, Buffer.from([0])]))));
    return (await git(['write-tree'])).toString('latin1').trim();
  } finally {
    fs.rmSync(indexDir, { recursive: true, force: true });
  }
}

function entryOf(workTree: string, relative: Buffer): Entry {
  const shown = relative.toString('utf8');
  // ls-files names a folder holding a repository of its own with a trailing "/": git would store it as a submodule,
  // which no build can use.
  if (shown.endsWith('/')) {
    throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `"${printable(shown)}" is a git repository of its own: send its files without its .git folder` });
  }
  const stat = fs.lstatSync(Buffer.concat([Buffer.from(`${workTree}/`), relative]));
  if (stat.isSymbolicLink()) return { path: relative, mode: '120000' };
  if (!stat.isFile()) throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `"${printable(shown)}" is not a file, a folder or a link` });
  return { path: relative, mode: (stat.mode & 0o100) !== 0 ? '100755' : '100644' };
}

/** A path as `git hash-object --stdin-paths` reads one per line: C-quoted, so a newline or any byte in a name is kept. */
export function quoted(name: Buffer): Buffer {
  let text = '"';
  for (const byte of name) {
    const plain = byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c;
    text += plain ? String.fromCharCode(byte) : `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return Buffer.from(`${text}"\n`, 'latin1');
}

function splitNul(bytes: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let end = bytes.indexOf(0, start); end !== -1; end = bytes.indexOf(0, start)) {
    if (end > start) parts.push(bytes.subarray(start, end));
    start = end + 1;
  }
  return parts;
}

function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

/** Runs git with `input` on stdin and resolves to its stdout as bytes; rejects with its stderr. */
function gitBytes(args: string[], options: ExecFileOptions, input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile('git', args, { ...options, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`git ${args[0]} failed: ${stderr.toString('utf8').trim() || error.message}`));
      else resolve(stdout);
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}
