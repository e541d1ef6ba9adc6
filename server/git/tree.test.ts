// A folder stored as a tree keeps its bytes whatever its .gitattributes says, keeps or drops .gitignore'd files as
// asked, and keeps modes, links and names that are not UTF-8.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import anyTest, { type TestFn } from 'ava';
import { LambdaError } from '../errors.js';
import { quoted, writeTree } from './tree.js';

const run = promisify(execFile);
const test = anyTest as TestFn<{ root: string; gitDir: string; work: string }>;

test.beforeEach(async (t) => {
  t.context.root = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-tree-'));
  t.context.gitDir = path.join(t.context.root, 'fn.git');
  t.context.work = path.join(t.context.root, 'work');
  fs.mkdirSync(t.context.work);
  await run('git', ['init', '--quiet', '--bare', t.context.gitDir]);
});

test.afterEach.always((t) => {
  fs.rmSync(t.context.root, { recursive: true, force: true });
});

const git = async (gitDir: string, args: string[]) => (await run('git', args, { env: { ...process.env, GIT_DIR: gitDir }, encoding: 'buffer' })).stdout;
const blob = async (gitDir: string, tree: string, file: string) => git(gitDir, ['cat-file', 'blob', `${tree}:${file}`]);
const listing = async (gitDir: string, tree: string) =>
  (await git(gitDir, ['ls-tree', '-r', '-z', '--format=%(objectmode) %(path)', tree])).toString('utf8').split('\0').filter(Boolean).sort();

test('.gitattributes rules that would change bytes (eol, text, ident, filter, encoding) change nothing', async (t) => {
  const { gitDir, work } = t.context;
  fs.writeFileSync(path.join(work, '.gitattributes'), '*.txt text eol=crlf\n*.crlf text\n*.id ident\n*.f filter=upper\n*.u16 working-tree-encoding=UTF-16\n');
  const files: Record<string, Buffer> = {
    'a.txt': Buffer.from('one\ntwo\r\nthree'),
    'b.crlf': Buffer.from('x\r\ny\r\n'),
    'c.id': Buffer.from('$Id$\n'),
    'd.f': Buffer.from('lower\n'),
    'e.u16': Buffer.from('\xff\xfeh\x00i\x00', 'latin1'),
  };
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(work, name), content);
  // A filter this machine's git would run, were it asked to.
  await run('git', ['config', '--file', path.join(gitDir, 'config'), 'filter.upper.clean', 'tr a-z A-Z']);
  const tree = await writeTree(gitDir, work, { honourGitignore: false });
  for (const [name, content] of Object.entries(files)) t.deepEqual(await blob(gitDir, tree, name), content, name);
});

test('every file is stored when asked so, .gitignore included; a folder deploy leaves out what .gitignore names', async (t) => {
  const { gitDir, work } = t.context;
  fs.writeFileSync(path.join(work, '.gitignore'), 'lambda.yaml\n*.log\nbuild/\n');
  fs.writeFileSync(path.join(work, 'lambda.yaml'), 'runtime: node20\n');
  fs.writeFileSync(path.join(work, 'index.js'), 'x\n');
  fs.writeFileSync(path.join(work, 'debug.log'), 'y\n');
  fs.mkdirSync(path.join(work, 'build'));
  fs.writeFileSync(path.join(work, 'build', 'out.js'), 'z\n');
  fs.mkdirSync(path.join(work, 'lib'));
  fs.writeFileSync(path.join(work, 'lib', '.gitignore'), 'secret.js\n');
  fs.writeFileSync(path.join(work, 'lib', 'secret.js'), 's\n');
  const all = await writeTree(gitDir, work, { honourGitignore: false });
  t.deepEqual(await listing(gitDir, all), ['100644 .gitignore', '100644 build/out.js', '100644 debug.log', '100644 index.js', '100644 lambda.yaml', '100644 lib/.gitignore', '100644 lib/secret.js']);
  const honoured = await writeTree(gitDir, work, { honourGitignore: true });
  t.deepEqual(await listing(gitDir, honoured), ['100644 .gitignore', '100644 index.js', '100644 lib/.gitignore']);
});

test('the executable bit, links (as links) and names with newlines, quotes or bytes that are not UTF-8 are kept', async (t) => {
  const { gitDir, work } = t.context;
  fs.writeFileSync(path.join(work, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  fs.writeFileSync(path.join(work, 'target.txt'), 'target\n');
  fs.symlinkSync('target.txt', path.join(work, 'link'));
  fs.writeFileSync(path.join(work, 'new\nline "q" \\'), 'odd\n');
  const latin = Buffer.concat([Buffer.from(`${work}/`), Buffer.from([0xff, 0x41])]);
  fs.writeFileSync(latin, 'bytes\n');
  const tree = await writeTree(gitDir, work, { honourGitignore: false });
  const raw = (await git(gitDir, ['ls-tree', '-r', '-z', tree])).toString('latin1').split('\0').filter(Boolean);
  t.deepEqual(
    raw.map((line) => `${line.split(' ')[0]} ${line.split('\t')[1]}`).sort(),
    ['100644 new\nline "q" \\', '100644 target.txt', '100644 \xffA', '100755 run.sh', '120000 link'].sort(),
  );
  t.is((await blob(gitDir, tree, 'link')).toString(), 'target.txt');
  t.is((await blob(gitDir, tree, 'new\nline "q" \\')).toString(), 'odd\n');
});

test('a folder that is a repository of its own is refused, naming it, rather than stored as a submodule', async (t) => {
  const { gitDir, work } = t.context;
  fs.writeFileSync(path.join(work, 'index.js'), 'x\n');
  await run('git', ['init', '--quiet', path.join(work, 'vendored')]);
  fs.writeFileSync(path.join(work, 'vendored', 'a.js'), 'a\n');
  const error = await t.throwsAsync(writeTree(gitDir, work, { honourGitignore: false }), { instanceOf: LambdaError });
  t.is(error?.code, 'LAMBDA_ERR_BAD_REQUEST');
  t.regex(error?.message ?? '', /"vendored\/" is a git repository of its own/);
});

test('a path is C-quoted byte for byte for hash-object', (t) => {
  t.is(quoted(Buffer.from('a "b"\\\n')).toString('latin1'), '"a \\042b\\042\\134\\012"\n');
  t.is(quoted(Buffer.from([0xff])).toString('latin1'), '"\\377"\n');
});
