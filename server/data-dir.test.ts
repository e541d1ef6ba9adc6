// The data folder is made private whatever existed before (systemd's StateDirectory= creates it 0755).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { assertDataDirFree, prepareDataDir } from './data-dir.js';
import { openStore } from './store/sqlite.js';

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

test('a data folder whose control socket answers is refused; a stale socket file is not', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-datadir-'));
  const server = net.createServer((socket) => socket.destroy());
  t.teardown(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await new Promise<void>((resolve) => server.listen(path.join(dir, 'control.sock'), resolve));
  await t.throwsAsync(assertDataDirFree(dir), { message: /another Lambda server is running on the data folder .* LAMBDA_DATA_DIR/ });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  // Closing a listening Unix socket removes its file; a server that died leaves one behind.
  fs.writeFileSync(path.join(dir, 'control.sock'), '');
  await t.notThrowsAsync(assertDataDirFree(dir));
});
