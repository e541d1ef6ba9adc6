// A version's files into a cell's task folder, on a real file system: hard links to the same inodes, folders and
// symbolic links copied with their modes (never followed), and a staged tree moved in with one rename per entry.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { linkTree, moveTree, readTree } from './files.js';

const test = anyTest as TestFn<{ dir: string }>;

test.beforeEach((t) => {
  t.context.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-cell-files-'));
  const version = path.join(t.context.dir, 'version');
  fs.mkdirSync(path.join(version, 'node_modules', 'dep', 'lib'), { recursive: true });
  fs.writeFileSync(path.join(version, 'index.mjs'), 'export const handler = async () => 1;\n');
  fs.writeFileSync(path.join(version, 'node_modules', 'dep', 'lib', 'main.js'), 'module.exports = 1;\n');
  fs.chmodSync(path.join(version, 'index.mjs'), 0o640);
  // A link out of the folder: copied as a link, its target never read or written on the host.
  fs.symlinkSync('/etc/shadow', path.join(version, 'escape'));
  fs.chmodSync(path.join(version, 'node_modules', 'dep'), 0o555);
  fs.chmodSync(version, 0o751);
});

test.afterEach.always((t) => {
  for (const dir of ['version', 'cell', 'staged']) {
    const full = path.join(t.context.dir, dir, 'node_modules', 'dep');
    if (fs.existsSync(full)) fs.chmodSync(full, 0o755);
  }
  fs.rmSync(t.context.dir, { recursive: true, force: true });
});

function check(t: { is: (a: unknown, b: unknown, m?: string) => void; true: (a: boolean, m?: string) => void }, version: string, cell: string): void {
  t.is(fs.statSync(path.join(cell, 'index.mjs')).ino, fs.statSync(path.join(version, 'index.mjs')).ino, 'a hard link to the same file');
  t.is(fs.statSync(path.join(cell, 'index.mjs')).mode & 0o777, 0o640);
  t.is(fs.readFileSync(path.join(cell, 'node_modules', 'dep', 'lib', 'main.js'), 'utf8'), 'module.exports = 1;\n');
  t.is(fs.statSync(path.join(cell, 'node_modules', 'dep')).mode & 0o777, 0o555, 'folder modes are the version’s');
  t.is(fs.statSync(cell).mode & 0o777, 0o751, "the task folder takes the version's own mode");
  t.true(fs.lstatSync(path.join(cell, 'escape')).isSymbolicLink());
  t.is(fs.readlinkSync(path.join(cell, 'escape')), '/etc/shadow');
}

test('readTree lists folders before what they hold; linkTree rebuilds it with hard links', async (t) => {
  const version = path.join(t.context.dir, 'version');
  const tree = await readTree(version);
  const order = tree.map((entry) => entry.rel);
  t.true(order.indexOf('node_modules') < order.indexOf(path.join('node_modules', 'dep', 'lib', 'main.js')));
  t.is(tree.find((entry) => entry.rel === 'escape')?.kind, 'link');
  const cell = path.join(t.context.dir, 'cell');
  fs.mkdirSync(cell);
  await linkTree(tree, version, cell);
  fs.chmodSync(cell, 0o751);
  check(t, version, cell);
});

test('a staged tree moves into a cell with one rename per top-level entry', async (t) => {
  const version = path.join(t.context.dir, 'version');
  const staged = path.join(t.context.dir, 'staged');
  const cell = path.join(t.context.dir, 'cell');
  fs.mkdirSync(staged);
  fs.mkdirSync(cell);
  await linkTree(await readTree(version), version, staged);
  const inode = fs.statSync(path.join(staged, 'node_modules')).ino;
  await moveTree(staged, cell);
  t.false(fs.existsSync(staged));
  t.is(fs.statSync(path.join(cell, 'node_modules')).ino, inode, 'the folder was moved, not rebuilt');
  check(t, version, cell);
});
