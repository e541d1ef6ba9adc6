// Unit tests of the api_keys SQL on real SQLite: the upgrade of a database written before tokens, listing, revoking, last use.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import anyTest, { type TestFn } from 'ava';
import { MIGRATIONS } from './migrations.js';
import { openStore } from './sqlite.js';
import type { TokenRecord, Store } from './types.js';

const test = anyTest as TestFn<{ store: Store; dirs: string[] }>;

test.beforeEach((t) => {
  t.context.store = openStore(':memory:');
  t.context.dirs = [];
});

test.afterEach.always(async (t) => {
  t.context.store.close();
  await Promise.all(t.context.dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const record = (id: string, overrides: Partial<TokenRecord> = {}): TokenRecord => ({
  id,
  scheme: 'sha256',
  hash: createHash('sha256').update(id).digest('hex'),
  name: `key ${id}`,
  createdAt: '2024-05-01T10:00:00.000Z',
  lastUsedAt: null,
  ...overrides,
});

test('a database written before tokens keeps its keys, which become sha256 keys with a name', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lambda-store-keys-'));
  t.context.dirs.push(dir);
  const file = join(dir, 'lambda.db');
  // The first release: schema 1, and keys inserted as it inserted them.
  const old = new Database(file);
  old.exec(MIGRATIONS.find((migration) => migration.version === 1)?.sql ?? '');
  old.pragma('user_version = 1');
  old.prepare('INSERT INTO api_keys (id, hash, label, created_at) VALUES (?, ?, ?, ?)').run('aaaa', 'a'.repeat(64), 'admin', '2024-01-01T00:00:00.000Z');
  old.prepare('INSERT INTO api_keys (id, hash, label, created_at) VALUES (?, ?, ?, ?)').run('bbbb', 'b'.repeat(64), 'ci', '2024-01-02T00:00:00.000Z');
  t.is(old.pragma('user_version', { simple: true }), 1);
  old.close();

  const upgraded = openStore(file);
  try {
    t.deepEqual(upgraded.tokens.list(), [
      { id: 'aaaa', scheme: 'sha256', hash: 'a'.repeat(64), name: 'admin', createdAt: '2024-01-01T00:00:00.000Z', lastUsedAt: null, scope: 'admin', function: null, seeded: false },
      { id: 'bbbb', scheme: 'sha256', hash: 'b'.repeat(64), name: 'ci', createdAt: '2024-01-02T00:00:00.000Z', lastUsedAt: null, scope: 'admin', function: null, seeded: false },
    ]);
    t.deepEqual(upgraded.tokens.withScheme('scrypt'), []);
  } finally {
    upgraded.close();
  }
});

test('keys an earlier start seeded (named LAMBDA_API_KEY) are marked seeded by the upgrade; removeSeededExcept removes them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lambda-store-keys-'));
  t.context.dirs.push(dir);
  const file = join(dir, 'seeded.db');
  const old = new Database(file);
  for (const migration of MIGRATIONS.filter((one) => one.version <= 6)) old.exec(migration.sql);
  old.pragma('user_version = 6');
  const insert = old.prepare("INSERT INTO api_keys (id, scheme, hash, name, created_at) VALUES (?, 'sha256', ?, ?, ?)");
  insert.run('aaaa', 'a'.repeat(64), 'LAMBDA_API_KEY', '2024-01-01T00:00:00.000Z');
  insert.run('bbbb', 'b'.repeat(64), 'LAMBDA_API_KEY', '2024-01-02T00:00:00.000Z');
  insert.run('cccc', 'c'.repeat(64), 'ci', '2024-01-03T00:00:00.000Z');
  old.close();
  const upgraded = openStore(file);
  try {
    t.deepEqual(upgraded.tokens.list().map((key) => key.seeded), [true, true, false]);
    t.is(upgraded.tokens.removeSeededExcept('bbbb'), 1);
    t.deepEqual(upgraded.tokens.list().map((key) => key.id), ['bbbb', 'cccc']);
  } finally {
    upgraded.close();
  }
});

test('the scheme column refuses unknown schemes', (t) => {
  t.throws(() => t.context.store.tokens.insert(record('x', { scheme: 'md5' as 'sha256' })), { any: true, message: /CHECK constraint/ });
});

test('list is oldest first; withScheme filters', (t) => {
  const { tokens: keys } = t.context.store;
  keys.insert(record('b', { createdAt: '2024-05-02T00:00:00.000Z' }));
  keys.insert(record('a', { createdAt: '2024-05-03T00:00:00.000Z', scheme: 'scrypt', hash: 'scrypt:…' }));
  keys.insert(record('c', { createdAt: '2024-05-01T00:00:00.000Z' }));
  t.deepEqual(keys.list().map((key) => key.id), ['c', 'b', 'a']);
  t.deepEqual(keys.withScheme('scrypt').map((key) => key.id), ['a']);
  t.deepEqual(keys.withScheme('sha256').map((key) => key.id), ['c', 'b']);
  t.is(keys.count(), 3);
});

test('removeUnlessLast removes, reports a missing id, and keeps the last key', (t) => {
  const { tokens: keys } = t.context.store;
  keys.insert(record('one'));
  keys.insert(record('two'));
  t.is(keys.removeUnlessLast('nope'), 'missing');
  t.is(keys.removeUnlessLast('one'), 'removed');
  t.is(keys.get('one'), undefined);
  t.is(keys.removeUnlessLast('one'), 'missing');
  t.is(keys.removeUnlessLast('two'), 'last');
  t.truthy(keys.get('two'));
  t.is(keys.count(), 1);
});

test('replace swaps one row for another in one step', (t) => {
  const { tokens: keys } = t.context.store;
  keys.insert(record('old'));
  keys.replace('old', record('new', { scheme: 'scrypt', hash: 'scrypt:x' }));
  t.is(keys.get('old'), undefined);
  t.like(keys.get('new'), { scheme: 'scrypt', hash: 'scrypt:x' });
  // A replacement that fails leaves the old row in place.
  keys.insert(record('other'));
  t.throws(() => keys.replace('new', record('other')), { any: true, message: /UNIQUE constraint/ });
  t.truthy(keys.get('new'));
});

test('touch records the last use', (t) => {
  const { tokens: keys } = t.context.store;
  keys.insert(record('k'));
  keys.touch('k', '2024-06-01T12:00:00.000Z');
  t.is(keys.get('k')?.lastUsedAt, '2024-06-01T12:00:00.000Z');
  keys.touch('missing', '2024-06-01T12:00:00.000Z');
  t.is(keys.count(), 1);
});
