// The kept installs' bounds on real files: sparse tars stand for big ones, so the real 4 GiB bound is tested
// without writing gigabytes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { CACHE_BOUNDS, pruneCache, touchCached } from './cache.js';

const MIB = 1024 * 1024;

function cacheWith(t: { teardown(fn: () => void): void }, sizes: number[]): { dir: string; files: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-install-cache-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // files[0] is the most recently used.
  const files = sizes.map((bytes, index) => {
    const file = path.join(dir, `node20-${String(index).padStart(3, '0')}.tar`);
    fs.writeFileSync(file, '');
    fs.truncateSync(file, bytes);
    const used = new Date(Date.UTC(2026, 0, 1) - index * 60_000);
    fs.utimesSync(file, used, used);
    return file;
  });
  return { dir, files };
}

const left = (dir: string) => fs.readdirSync(dir).sort();

test('attack: pushes of many large dependency sets keep the cache under 4 GiB, least recently used removed first', (t) => {
  t.is(CACHE_BOUNDS.bytes, 4 * 1024 * MIB);
  // Twelve installs near the 768 MiB a tar may reach: 9 GiB in all, under the count bound.
  const { dir, files } = cacheWith(t, Array.from({ length: 12 }, () => 760 * MIB));
  pruneCache(dir, files[0]);
  t.deepEqual(left(dir), files.slice(0, 5).map((file) => path.basename(file)));
  const kept = fs.readdirSync(dir).reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0);
  t.true(kept <= CACHE_BOUNDS.bytes);
});

test('strictly by use: once the bound is passed, older installs go even when small', (t) => {
  const { dir, files } = cacheWith(t, [10, 60, 50, 1]);
  pruneCache(dir, files[0], { entries: 64, bytes: 100 });
  t.deepEqual(left(dir), [files[0], files[1]].map((file) => path.basename(file)));
});

test('a reused install counts as recently used; the install just made stays whatever the others', (t) => {
  const { dir, files } = cacheWith(t, [10, 10, 10, 10]);
  touchCached(files[3]);
  // The install just made is the oldest by its clock (a clock set back): still kept.
  pruneCache(dir, files[2], { entries: 2, bytes: 1024 });
  t.deepEqual(left(dir), [files[2], files[3]].map((file) => path.basename(file)));
});

test('the count bound holds for small installs, and other files in the folder are left alone', (t) => {
  const { dir, files } = cacheWith(t, Array.from({ length: 70 }, () => 1024));
  fs.writeFileSync(path.join(dir, 'node20-x.tar.abc.partial'), 'in progress');
  pruneCache(dir, files[0]);
  const tars = left(dir).filter((name) => name.endsWith('.tar'));
  t.is(tars.length, CACHE_BOUNDS.entries);
  t.deepEqual(tars, files.slice(0, 64).map((file) => path.basename(file)));
  t.true(fs.existsSync(path.join(dir, 'node20-x.tar.abc.partial')));
});
