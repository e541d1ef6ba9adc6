// Unit tests of API keys against a real SQLite store: the first-start admin key, the seeded key, verification.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { openStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { bootstrapAdminKey, createKey, verifyKey } from './keys.js';

const test = anyTest as TestFn<{ store: Store; dirs: string[] }>;

test.beforeEach((t) => {
  t.context.store = openStore(':memory:');
  t.context.dirs = [];
});

test.afterEach.always(async (t) => {
  t.context.store.close();
  await Promise.all(t.context.dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

test('the first start generates an admin key once; later starts generate nothing', (t) => {
  const { store } = t.context;
  const first = bootstrapAdminKey(store, undefined);
  t.is(typeof first.generated, 'string');
  const key = first.generated as string;
  t.true(key.length >= 32, key);
  t.is(store.keys.count(), 1);

  t.deepEqual(bootstrapAdminKey(store, undefined), {});
  t.deepEqual(bootstrapAdminKey(store, ''), {});
  t.is(store.keys.count(), 1);
  t.true(verifyKey(store, key));
});

test('two fresh stores get different generated keys', (t) => {
  const other = openStore(':memory:');
  try {
    const a = bootstrapAdminKey(t.context.store, undefined).generated;
    const b = bootstrapAdminKey(other, undefined).generated;
    t.truthy(a);
    t.truthy(b);
    t.not(a, b);
    t.false(verifyKey(other, a));
  } finally {
    other.close();
  }
});

const refused = test.macro({
  exec(t, presented: (key: string) => string | undefined) {
    const key = bootstrapAdminKey(t.context.store, undefined).generated as string;
    t.false(verifyKey(t.context.store, presented(key)));
  },
  title: (provided = '') => `verifyKey refuses ${provided}`,
});

test('undefined', refused, () => undefined);
test('the empty string', refused, () => '');
test('a different key', refused, () => `lambda_${'x'.repeat(43)}`);
test('the key with one character changed', refused, (key) => `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`);
test('a prefix of the key', refused, (key) => key.slice(0, -1));
test('the key with a trailing newline', refused, (key) => `${key}\n`);
test('the key in upper case', refused, (key) => key.toUpperCase());
test('the stored hash of the key', refused, (key) => sha256(key));
test('a very long key', refused, () => 'k'.repeat(1_000_000));
test('the key repeated past 512 characters', refused, (key) => key.repeat(20));

test('verifyKey refuses everything when no key exists', (t) => {
  t.false(verifyKey(t.context.store, 'anything'));
  t.false(verifyKey(t.context.store, undefined));
});

test('a seeded key (LAMBDA_API_KEY) works, is stored once and only as a hash', (t) => {
  const { store } = t.context;
  const seed = 'my-seeded-admin-key-0123456789';
  t.deepEqual(bootstrapAdminKey(store, seed), {});
  t.deepEqual(bootstrapAdminKey(store, seed), {});
  t.is(store.keys.count(), 1);
  t.true(verifyKey(store, seed));
  t.false(verifyKey(store, `${seed}x`));

  const record = store.keys.get(sha256(seed).slice(0, 16));
  t.truthy(record);
  t.is(record?.label, 'admin');
  t.not(record?.hash, seed);
  t.is(record?.hash, sha256(seed));
  t.false(record?.id.includes(seed));
});

test('no file of the database holds a key in plain text', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lambda-keys-'));
  t.context.dirs.push(dir);
  const store = openStore(join(dir, 'lambda.db'));
  const seed = 'seeded-plain-text-marker-4b1d';
  bootstrapAdminKey(store, seed);
  const added = createKey(store, 'ci');
  t.true(verifyKey(store, seed));
  t.true(verifyKey(store, added));
  t.is(store.keys.count(), 2);
  store.close();

  const files = await readdir(dir);
  t.true(files.includes('lambda.db'));
  for (const file of files) {
    const bytes = await readFile(join(dir, file));
    t.false(bytes.includes(seed), `${file} holds the seeded key`);
    t.false(bytes.includes(added), `${file} holds the created key`);
  }

  const reopened = openStore(join(dir, 'lambda.db'));
  try {
    t.true(verifyKey(reopened, seed));
    t.true(verifyKey(reopened, added));
  } finally {
    reopened.close();
  }
});
