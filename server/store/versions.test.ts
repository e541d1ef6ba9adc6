// Unit tests of versions and the live pointer on real SQLite, and of migrations on a file that is reopened.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { MIGRATIONS } from './migrations.js';
import { openStore } from './sqlite.js';
import type { Store } from './types.js';

const test = anyTest as TestFn<{ store: Store; dirs: string[] }>;

test.beforeEach((t) => {
  t.context.store = openStore(':memory:');
  t.context.dirs = [];
});

test.afterEach.always(async (t) => {
  t.context.store.close();
  await Promise.all(t.context.dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The schema's own last migration; the tests' extra migrations come after it. */
const LATEST = Math.max(...MIGRATIONS.map((migration) => migration.version));
const sha = (n: number): string => n.toString(16).padStart(40, 'a');
const publish = (store: Store, fn: string, n: number) =>
  store.versions.publish({ fn, sha: sha(n), image: `lambda/${fn}:${sha(n).slice(0, 12)}`, manifest: `{"n":${n}}` });

async function tempDb(t: { context: { dirs: string[] } }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lambda-store-'));
  t.context.dirs.push(dir);
  return join(dir, 'lambda.db');
}

test('an unknown function has no versions, no live version and next number 1', (t) => {
  const { versions, functions } = t.context.store;
  t.is(versions.live('greet'), undefined);
  t.is(versions.byNumber('greet', 1), undefined);
  t.is(versions.bySha('greet', sha(1)), undefined);
  t.is(versions.nextNumber('greet'), 1);
  t.deepEqual(versions.listLive(), []);
  t.is(functions.get('greet'), undefined);
});

test('publish numbers versions 1, 2, 3 and makes each live in turn', (t) => {
  const { versions, functions } = t.context.store;
  for (const n of [1, 2, 3]) {
    t.is(versions.nextNumber('greet'), n);
    const record = publish(t.context.store, 'greet', n);
    t.like(record, { fn: 'greet', number: n, sha: sha(n), image: `lambda/greet:${sha(n).slice(0, 12)}`, manifest: `{"n":${n}}` });
    t.false(Number.isNaN(Date.parse(record.createdAt)));
    t.deepEqual(versions.live('greet'), record);
    t.is(functions.get('greet')?.liveVersion, n);
  }
  t.is(versions.nextNumber('greet'), 4);
  t.is(versions.byNumber('greet', 2)?.sha, sha(2));
  t.is(versions.bySha('greet', sha(3))?.number, 3);
});

test('each function numbers its own versions', (t) => {
  const { versions } = t.context.store;
  publish(t.context.store, 'greet', 1);
  publish(t.context.store, 'greet', 2);
  t.is(publish(t.context.store, 'other', 1).number, 1);
  t.is(publish(t.context.store, 'other', 3).number, 2);
  t.is(versions.nextNumber('greet'), 3);
  t.is(versions.nextNumber('other'), 3);
  t.is(versions.live('greet')?.number, 2);
  t.is(versions.live('other')?.number, 2);
});

test('publishing a known sha reuses its number, updates its build and makes it live', (t) => {
  const { store } = t.context;
  const first = publish(store, 'greet', 1);
  publish(store, 'greet', 2);
  const again = store.versions.publish({ fn: 'greet', sha: sha(1), image: 'lambda/greet:rebuilt', manifest: '{"again":true}' });
  t.is(again.number, 1);
  t.is(again.createdAt, first.createdAt);
  t.is(again.image, 'lambda/greet:rebuilt');
  t.is(again.manifest, '{"again":true}');
  t.is(store.versions.live('greet')?.number, 1);
  t.is(store.functions.get('greet')?.liveVersion, 1);
  t.is(store.versions.nextNumber('greet'), 3);
  t.is(store.versions.byNumber('greet', 2)?.sha, sha(2));
});

test('listLive gives the live version of every deployed function, by name', (t) => {
  const { store } = t.context;
  publish(store, 'zeta', 1);
  publish(store, 'alpha', 1);
  publish(store, 'alpha', 2);
  publish(store, 'mid', 1);
  store.functions.ensure('never-deployed');
  t.deepEqual(
    store.versions.listLive().map((v) => [v.fn, v.number]),
    [
      ['alpha', 2],
      ['mid', 1],
      ['zeta', 1],
    ],
  );
});

test('functions.ensure creates a function with no live version, once', (t) => {
  const { functions, versions } = t.context.store;
  const created = functions.ensure('greet');
  t.like(created, { name: 'greet', liveVersion: null });
  t.deepEqual(functions.ensure('greet'), created);
  t.is(versions.live('greet'), undefined);
  t.deepEqual(functions.list().map((f) => f.name), ['greet']);
});

test('data survives closing and reopening the same file', async (t) => {
  const file = await tempDb(t);
  const first = openStore(file);
  publish(first, 'greet', 1);
  publish(first, 'greet', 2);
  first.close();

  const second = openStore(file);
  try {
    t.is(second.versions.live('greet')?.number, 2);
    t.is(second.versions.nextNumber('greet'), 3);
    t.is(publish(second, 'greet', 3).number, 3);
  } finally {
    second.close();
  }
});

test('a migration already applied is not applied again on reopen; a new one is', async (t) => {
  const file = await tempDb(t);
  // Each migration after the schema inserts one key row, so a migration run twice would show in the count.
  const seedRow = (version: number) => ({
    version,
    sql: `INSERT INTO api_keys (id, hash, name, created_at) VALUES ('m${version}', 'h', 'migration', 'now');`,
  });
  const v2 = [...MIGRATIONS, seedRow(LATEST + 1)];
  const v3 = [...v2, seedRow(LATEST + 2)];

  const first = openStore(file, v2);
  t.is(first.tokens.count(), 1);
  first.close();

  const second = openStore(file, v2);
  t.is(second.tokens.count(), 1);
  second.close();

  const third = openStore(file, v3);
  try {
    t.is(third.tokens.count(), 2);
    t.truthy(third.tokens.get(`m${LATEST + 2}`));
  } finally {
    third.close();
  }
});

test('a failing migration leaves the database at its previous version', async (t) => {
  const file = await tempDb(t);
  openStore(file).close();
  const broken = [...MIGRATIONS, { version: LATEST + 1, sql: "INSERT INTO api_keys (id, hash, name, created_at) VALUES ('x', 'h', 'l', 'n'); SELECT * FROM no_such_table;" }];
  t.throws(() => openStore(file, broken), { any: true, message: /no_such_table/ });

  const reopened = openStore(file);
  try {
    t.is(reopened.tokens.count(), 0);
  } finally {
    reopened.close();
  }
});
