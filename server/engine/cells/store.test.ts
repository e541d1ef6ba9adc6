// The cells' content store on a real file system: versions of one function share their unchanged files (one inode,
// counted once), a file differing in bytes, mode or time is its own, another function never shares, read-only
// folders keep their modes, and a sweep keeps exactly what a copy still links.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { createFileStore, MAX_SHARES } from './store.js';

const test = anyTest as TestFn<{ dir: string; versions: string; store: string }>;
const DEPENDENCY = 'x'.repeat(100_000);
const THEN = new Date('1985-10-26T08:15:00Z');

test.beforeEach((t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-cell-store-'));
  t.context = { dir, versions: path.join(dir, 'versions'), store: path.join(dir, 'store') };
  fs.mkdirSync(t.context.versions);
});

test.afterEach.always((t) => {
  for (const folder of fs.readdirSync(t.context.versions)) {
    const dep = path.join(t.context.versions, folder, 'node_modules', 'dep');
    if (fs.existsSync(dep)) fs.chmodSync(dep, 0o755);
  }
  fs.rmSync(t.context.dir, { recursive: true, force: true });
});

/** A version's copy as extraction leaves it: its code, a dependency in a read-only folder, times from the image. */
function version(t: { context: { versions: string } }, name: string, code: string): string {
  const dir = path.join(t.context.versions, name);
  fs.mkdirSync(path.join(dir, 'node_modules', 'dep'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'index.js'), code);
  fs.writeFileSync(path.join(dir, 'node_modules', 'dep', 'index.js'), DEPENDENCY);
  fs.writeFileSync(path.join(dir, 'node_modules', 'dep', 'empty.js'), '');
  for (const file of ['index.js', 'node_modules/dep/index.js', 'node_modules/dep/empty.js']) fs.utimesSync(path.join(dir, file), THEN, THEN);
  fs.chmodSync(path.join(dir, 'node_modules', 'dep'), 0o555);
  return dir;
}

const ino = (file: string) => fs.statSync(file).ino;

test("a code-only push's copy shares every unchanged file with the version before it, and takes only its changes", async (t) => {
  const store = createFileStore(t.context.store);
  const one = version(t, 'one', 'exports.handler = () => 1;\n');
  const two = version(t, 'two', 'exports.handler = () => 2;\n');
  const dirs = [t.context.versions, t.context.store];
  const before = await store.usage(dirs);
  t.true(before > 2 * DEPENDENCY.length, 'two whole copies');

  await store.share(one, 'fn');
  await store.share(two, 'fn');
  const dep = path.join('node_modules', 'dep', 'index.js');
  t.is(ino(path.join(one, dep)), ino(path.join(two, dep)), 'the unchanged dependency is one file');
  t.not(ino(path.join(one, 'index.js')), ino(path.join(two, 'index.js')), 'the changed code is not');
  t.not(ino(path.join(one, 'node_modules', 'dep', 'empty.js')), ino(path.join(two, 'node_modules', 'dep', 'empty.js')), 'empty files are never linked');
  const after = await store.usage(dirs);
  t.true(after < before - DEPENDENCY.length + 1000, `${after} bytes: the dependency is counted once`);

  // What a function sees is unchanged: bytes, times, and the read-only folder's mode.
  t.is(fs.readFileSync(path.join(two, dep), 'utf8'), DEPENDENCY);
  t.is(fs.readFileSync(path.join(two, 'index.js'), 'utf8'), 'exports.handler = () => 2;\n');
  t.is(fs.statSync(path.join(two, dep)).mtime.getTime(), THEN.getTime());
  t.is(fs.statSync(path.join(two, 'node_modules', 'dep')).mode & 0o777, 0o555);
  t.is(fs.readdirSync(path.join(two, 'node_modules', 'dep')).sort().join(), 'empty.js,index.js', 'no scratch file is left in a copy');

  // Sharing again changes nothing.
  await store.share(two, 'fn');
  t.is(ino(path.join(one, dep)), ino(path.join(two, dep)));
});

test('a file with the same bytes but another mode or time is its own; another function never shares', async (t) => {
  const store = createFileStore(t.context.store);
  const one = version(t, 'one', 'a\n');
  const moded = version(t, 'moded', 'a\n');
  const timed = version(t, 'timed', 'a\n');
  const other = version(t, 'other', 'a\n');
  fs.chmodSync(path.join(moded, 'index.js'), 0o600);
  fs.utimesSync(path.join(timed, 'index.js'), new Date(), new Date());
  for (const dir of [one, moded, timed]) await store.share(dir, 'fn');
  await store.share(other, 'another-fn');
  const code = (dir: string) => ino(path.join(dir, 'index.js'));
  t.is(new Set([one, moded, timed, other].map(code)).size, 4);
  t.is(fs.statSync(path.join(moded, 'index.js')).mode & 0o777, 0o600);
  // Only link counts of the function's own files, which it can read with stat, are raised by its own copies.
  t.is(fs.statSync(path.join(other, 'index.js')).nlink, 2, 'the copy and the store: nothing of the first function');
});

test('a sweep removes stored files once no copy links them, and keeps those one does', async (t) => {
  const store = createFileStore(t.context.store);
  const one = version(t, 'one', 'one\n');
  const two = version(t, 'two', 'two\n');
  await store.share(one, 'fn');
  await store.share(two, 'fn');
  const stored = () => fs.readdirSync(t.context.store).flatMap((folder) => (folder.startsWith('.tmp-') ? [] : fs.readdirSync(path.join(t.context.store, folder))));
  t.is(stored().length, 3, 'the dependency and each version’s code');

  fs.chmodSync(path.join(one, 'node_modules', 'dep'), 0o755);
  fs.rmSync(one, { recursive: true });
  await store.sweep();
  t.is(stored().length, 2, "the first version's code went with it");
  t.is(fs.readFileSync(path.join(two, 'node_modules', 'dep', 'index.js'), 'utf8'), DEPENDENCY);

  fs.chmodSync(path.join(two, 'node_modules', 'dep'), 0o755);
  fs.rmSync(two, { recursive: true });
  await store.sweep();
  t.deepEqual(stored(), []);
  t.true(await store.usage([t.context.versions, t.context.store]) === 0);
});

test('a sweep by a new process drops the scratch an earlier one left', async (t) => {
  createFileStore(t.context.store);
  const later = createFileStore(t.context.store);
  t.is(fs.readdirSync(t.context.store).filter((name) => name.startsWith('.tmp-')).length, 2);
  await later.sweep();
  t.is(fs.readdirSync(t.context.store).filter((name) => name.startsWith('.tmp-')).length, 1);
});

test('a file repeated more often than a stored file may be linked keeps its own copies past the bound', async (t) => {
  const store = createFileStore(t.context.store);
  const dir = path.join(t.context.versions, 'many');
  fs.mkdirSync(dir);
  for (let i = 0; i < MAX_SHARES + 20; i++) {
    fs.writeFileSync(path.join(dir, `licence-${i}`), 'MIT\n');
    fs.utimesSync(path.join(dir, `licence-${i}`), THEN, THEN);
  }
  await store.share(dir, 'fn');
  const stats = fs.readdirSync(dir).map((name) => fs.statSync(path.join(dir, name)));
  // Files are shared a batch at a time, so the last batch may pass the bound by what it holds (16).
  const links = Math.max(...stats.map((stat) => stat.nlink));
  t.true(links >= MAX_SHARES && links <= MAX_SHARES + 16, `${links} links`);
  t.true(new Set(stats.map((stat) => stat.ino)).size > 1, 'past the bound, copies keep files of their own');
  t.true(fs.readdirSync(dir).every((name) => fs.readFileSync(path.join(dir, name), 'utf8') === 'MIT\n'));
});
