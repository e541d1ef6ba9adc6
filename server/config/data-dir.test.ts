// The data folder is made private whatever existed before (systemd's StateDirectory= creates it 0755).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { lockDataDir, prepareDataDir } from './data-dir.js';
import { openStore } from '../store/sqlite.js';

test('an existing 0755 data folder and 0644 database become 0700 and 0600', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-datadir-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'data');
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'lambda.db'), '', { mode: 0o644 });
  fs.chmodSync(path.join(dir, 'lambda.db'), 0o644);
  prepareDataDir(dir);
  t.is(fs.statSync(dir).mode & 0o777, 0o700);
  t.is(fs.statSync(path.join(dir, 'lambda.db')).mode & 0o777, 0o600);
});

test('a new data folder and the database SQLite opens in it are private, write-ahead log included', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-datadir-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'nested', 'data');
  prepareDataDir(dir);
  const store = openStore(path.join(dir, 'lambda.db'));
  store.functions.ensure('greet');
  t.is(fs.statSync(dir).mode & 0o777, 0o700);
  for (const file of ['lambda.db', 'lambda.db-wal']) t.is(fs.statSync(path.join(dir, file)).mode & 0o777, 0o600, file);
  store.close();
});

test('a data folder is held by one server at a time, and free again once released', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-datadir-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const release = await lockDataDir(dir);
  await t.throwsAsync(lockDataDir(dir), { message: /another Lambda server is running on the data folder .* LAMBDA_DATA_DIR/ });
  // The same folder by another path is the same folder.
  await t.throwsAsync(lockDataDir(path.join(dir, '.')), { message: /another Lambda server is running/ });
  await release();
  const again = await lockDataDir(dir);
  await again();
});
