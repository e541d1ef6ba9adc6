// Unit tests of API keys against a real SQLite store: the first-start admin key, seeded keys (scrypt), verification, its cache and revocation.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { openStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { bootstrapAdminKey, createKeyVerifier, generateKey, generatedTokenRecord } from './token-check.js';
import { createAuthLimiter } from './auth-limit.js';
import { LambdaError } from '../errors.js';

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

/** The real store, counting how often the scrypt rows are read: each read is a round of scrypt hashing. */
function counting(store: Store): { store: Store; scryptRounds: () => number } {
  let rounds = 0;
  const keys: Store['tokens'] = {
    ...store.tokens,
    withScheme: (scheme) => {
      rounds += 1;
      return store.tokens.withScheme(scheme);
    },
  };
  return { store: { ...store, tokens: keys }, scryptRounds: () => rounds };
}

test('the first start generates an admin key once; later starts generate nothing', async (t) => {
  const { store } = t.context;
  const first = bootstrapAdminKey(store, undefined);
  const key = first.generated as string;
  t.regex(key, /^lambda_[A-Za-z0-9_-]{43}$/);
  t.is(store.tokens.count(), 1);
  t.like(store.tokens.list()[0], { name: 'admin', scheme: 'sha256', hash: sha256(key), id: sha256(key).slice(0, 16), lastUsedAt: null });

  t.deepEqual(bootstrapAdminKey(store, undefined), {});
  t.deepEqual(bootstrapAdminKey(store, ''), {});
  t.is(store.tokens.count(), 1);
  t.true(await createKeyVerifier(store)(key));
});

test('two fresh stores get different generated keys', async (t) => {
  const other = openStore(':memory:');
  try {
    const a = bootstrapAdminKey(t.context.store, undefined).generated;
    const b = bootstrapAdminKey(other, undefined).generated;
    t.truthy(a);
    t.truthy(b);
    t.not(a, b);
    t.false(await createKeyVerifier(other)(a));
  } finally {
    other.close();
  }
});

const refused = test.macro({
  async exec(t, seeded: boolean, presented: (key: string) => string | undefined) {
    const key = seeded ? 'a-person-chose-this-key' : (bootstrapAdminKey(t.context.store, undefined).generated as string);
    if (seeded) bootstrapAdminKey(t.context.store, key);
    t.false(await createKeyVerifier(t.context.store)(presented(key)));
  },
  title: (provided = '', seeded: boolean) => `verification refuses ${provided} (${seeded ? 'seeded' : 'generated'} key)`,
});

for (const seeded of [false, true]) {
  test('undefined', refused, seeded, () => undefined);
  test('the empty string', refused, seeded, () => '');
  test('a different key', refused, seeded, () => `lambda_${'x'.repeat(43)}`);
  test('the key with one character changed', refused, seeded, (key) => `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`);
  test('a prefix of the key', refused, seeded, (key) => key.slice(0, -1));
  test('the key with a trailing newline', refused, seeded, (key) => `${key}\n`);
  test('the key in upper case', refused, seeded, (key) => key.toUpperCase());
  test('the SHA-256 of the key', refused, seeded, (key) => sha256(key));
  test('a very long key', refused, seeded, () => 'k'.repeat(1_000_000));
  test('the key repeated past 512 characters', refused, seeded, (key) => key.repeat(30));
}

test('verification refuses everything when no key exists', async (t) => {
  const verify = createKeyVerifier(t.context.store);
  t.false(await verify('anything'));
  t.false(await verify(undefined));
});

test('a seeded key (LAMBDA_API_KEY) is stored once, salted and scrypt-hashed, under a random id', async (t) => {
  const { store } = t.context;
  const seed = 'my-seeded-admin-key';
  const first = bootstrapAdminKey(store, seed);
  t.deepEqual(bootstrapAdminKey(store, seed), first, 'the second start finds the same row and generates nothing');
  t.is(store.tokens.count(), 1);
  const [record] = store.tokens.list();
  t.deepEqual(first, { seedId: record?.id, revoked: 0 });
  t.like(record, { scope: 'admin', seeded: true });
  t.is(record?.scheme, 'scrypt');
  t.is(record?.name, 'LAMBDA_API_KEY');
  t.regex(record?.hash ?? '', /^scrypt:16384:8:1:[0-9a-f]{32}:[0-9a-f]{64}$/);
  t.regex(record?.id ?? '', /^[0-9a-f]{16}$/);
  // An id derived from a fast hash of a chosen key would let anyone who lists tokens guess the key offline.
  t.false(sha256(seed).includes(record?.id ?? 'missing'));
  t.false(record?.hash.includes(sha256(seed)));

  const verify = createKeyVerifier(store);
  t.true(await verify(seed));
  t.false(await verify(`${seed}x`));
});

test('the same seed hashed twice gets different salts', (t) => {
  const other = openStore(':memory:');
  try {
    bootstrapAdminKey(t.context.store, 'same-seed-0123456789');
    bootstrapAdminKey(other, 'same-seed-0123456789');
    t.not(t.context.store.tokens.list()[0]?.hash, other.tokens.list()[0]?.hash);
  } finally {
    other.close();
  }
});

test('a restart with a different seed rotates: the old seeded key is revoked, other keys stay', async (t) => {
  const { store } = t.context;
  bootstrapAdminKey(store, 'first-seed-0123456789');
  const created = generateKey();
  store.tokens.insert(generatedTokenRecord(created, 'ci'));
  t.is(bootstrapAdminKey(store, 'second-seed-0123456789').revoked, 1);
  t.is(store.tokens.count(), 2);
  const verify = createKeyVerifier(store);
  t.false(await verify('first-seed-0123456789'));
  t.true(await verify('second-seed-0123456789'));
  t.true(await verify(created));
  // Starting again with the same value revokes nothing.
  t.is(bootstrapAdminKey(store, 'second-seed-0123456789').revoked, 0);
});

test('a LAMBDA_API_KEY shorter than 16 characters is refused, saying how to make a key', (t) => {
  for (const weak of ['sunshine', 'x', '123456789012345']) {
    t.throws(() => bootstrapAdminKey(t.context.store, weak), { message: /LAMBDA_API_KEY is too short to be a key .*at least 16.*openssl rand -hex 32/ });
  }
  t.is(t.context.store.tokens.count(), 0);
  t.notThrows(() => bootstrapAdminKey(t.context.store, `test_${'0'.repeat(32)}`));
});

test('invoke tokens: the REST API check refuses them with 403; a function check opens theirs only', async (t) => {
  const { store } = t.context;
  const admin = bootstrapAdminKey(store, undefined).generated as string;
  const any = generateKey();
  const one = generateKey();
  store.tokens.insert({ ...generatedTokenRecord(any, 'callers'), scope: 'invoke' });
  store.tokens.insert({ ...generatedTokenRecord(one, 'one'), scope: 'invoke', function: 'hello' });
  const verify = createKeyVerifier(store);
  t.true(await verify(admin));
  for (const key of [any, one]) await t.throwsAsync(verify(key), { instanceOf: LambdaError, message: /only invokes .*it does not open the REST API/ });
  t.true(await verify.invoke(admin, undefined, 'other'));
  t.true(await verify.invoke(any, undefined, 'other'));
  t.true(await verify.invoke(one, undefined, 'hello'));
  const other = await t.throwsAsync(verify.invoke(one, undefined, 'other'), { instanceOf: LambdaError });
  t.is(other?.code, 'LAMBDA_ERR_FORBIDDEN');
  t.false(await verify.invoke(generateKey(), undefined, 'hello'));
});

test('the server-wide budget of slow checks: wrong keys from many clients are refused once it is spent', async (t) => {
  bootstrapAdminKey(t.context.store, 'budget-seed-0123456789');
  const generated = generateKey();
  t.context.store.tokens.insert(generatedTokenRecord(generated, 'ci'));
  const counted = counting(t.context.store);
  const limiter = createAuthLimiter({ failures: 100, windowMs: 60_000, slowBudget: 3 }, () => 0);
  const verify = createKeyVerifier(counted.store, undefined, { limiter });
  for (let i = 0; i < 3; i++) t.false(await verify(`guess-${i}`, `10.0.0.${i}`));
  t.is(counted.scryptRounds(), 3);
  await t.throwsAsync(verify('guess-more', '10.0.0.99'), { message: /too many wrong API keys/ });
  t.true(await verify(generated, '10.0.0.99'), 'a generated key is still checked');
});

test('a seed stored as plain SHA-256 by an older release is hashed again with scrypt, keeping its name and date', async (t) => {
  const { store } = t.context;
  const seed = 'seeded-before-tokens-existed';
  store.tokens.insert({ ...generatedTokenRecord(seed, 'admin', new Date('2024-01-01T00:00:00.000Z')), lastUsedAt: '2024-02-01T00:00:00.000Z' });
  t.true(await createKeyVerifier(store)(seed), 'the legacy row works before the upgrade');

  bootstrapAdminKey(store, seed);
  const rows = store.tokens.list();
  t.is(rows.length, 1);
  t.like(rows[0], { scheme: 'scrypt', name: 'admin', createdAt: '2024-01-01T00:00:00.000Z' });
  t.is(store.tokens.get(sha256(seed).slice(0, 16)), undefined, 'the SHA-256 row and its hash-derived id are gone');
  t.true(await createKeyVerifier(store)(seed));
});

test('a seeded key costs scrypt once; later uses are remembered', async (t) => {
  bootstrapAdminKey(t.context.store, 'remember-me-0123456789');
  const counted = counting(t.context.store);
  const verify = createKeyVerifier(counted.store);
  t.true(await verify('remember-me-0123456789'));
  t.is(counted.scryptRounds(), 1);
  for (let i = 0; i < 5; i++) t.true(await verify('remember-me-0123456789'));
  t.is(counted.scryptRounds(), 1);
});

test('a generated key never costs scrypt, even with seeded keys present', async (t) => {
  bootstrapAdminKey(t.context.store, 'some-seed-0123456789');
  const key = generateKey();
  t.context.store.tokens.insert(generatedTokenRecord(key, 'ci'));
  const counted = counting(t.context.store);
  t.true(await createKeyVerifier(counted.store)(key));
  t.is(counted.scryptRounds(), 0);
});

test('revoking a remembered seeded key makes it fail at once', async (t) => {
  const { store } = t.context;
  const { chosenTokenRecord: chosenKeyRecord } = await import('./token-check.js');
  const old = chosenKeyRecord('seed-to-revoke-0123456789', 'old');
  store.tokens.insert(old);
  const id = old.id;
  bootstrapAdminKey(store, 'seed-to-keep-0123456789');
  const verify = createKeyVerifier(store);
  t.true(await verify('seed-to-revoke-0123456789'));
  t.is(store.tokens.removeUnlessLast(id), 'removed');
  t.false(await verify('seed-to-revoke-0123456789'));
  t.true(await verify('seed-to-keep-0123456789'));
});

test('revoking a generated key makes it fail at once', async (t) => {
  const { store } = t.context;
  const key = bootstrapAdminKey(store, undefined).generated as string;
  const other = generateKey();
  store.tokens.insert(generatedTokenRecord(other, 'ci'));
  const verify = createKeyVerifier(store);
  t.true(await verify(other));
  t.is(store.tokens.removeUnlessLast(sha256(other).slice(0, 16)), 'removed');
  t.false(await verify(other));
  t.true(await verify(key));
});

test('last use is recorded, at most once a minute per key', async (t) => {
  const { store } = t.context;
  const key = bootstrapAdminKey(store, undefined).generated as string;
  const id = sha256(key).slice(0, 16);
  let clock = Date.parse('2024-05-01T10:00:00.000Z');
  const verify = createKeyVerifier(store, () => new Date(clock));
  t.is(store.tokens.get(id)?.lastUsedAt, null);
  t.true(await verify(key));
  t.is(store.tokens.get(id)?.lastUsedAt, '2024-05-01T10:00:00.000Z');
  clock += 30_000;
  t.true(await verify(key));
  t.is(store.tokens.get(id)?.lastUsedAt, '2024-05-01T10:00:00.000Z');
  clock += 30_000;
  t.true(await verify(key));
  t.is(store.tokens.get(id)?.lastUsedAt, '2024-05-01T10:01:00.000Z');
  t.false(await verify('wrong'));
  t.is(store.tokens.get(id)?.lastUsedAt, '2024-05-01T10:01:00.000Z');
});

test('a damaged scrypt row matches nothing and breaks nothing', async (t) => {
  const { store } = t.context;
  const key = bootstrapAdminKey(store, undefined).generated as string;
  store.tokens.insert({ id: 'damaged000000000', scheme: 'scrypt', hash: 'scrypt:999999999999:8:1:00:00', name: 'x', createdAt: new Date().toISOString(), lastUsedAt: null });
  store.tokens.insert({ id: 'damaged000000001', scheme: 'scrypt', hash: 'not-a-hash', name: 'y', createdAt: new Date().toISOString(), lastUsedAt: null });
  const verify = createKeyVerifier(store);
  t.false(await verify('anything'));
  t.true(await verify(key));
});

test('no file of the database holds a key in plain text', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lambda-keys-'));
  t.context.dirs.push(dir);
  const store = openStore(join(dir, 'lambda.db'));
  const seed = 'seeded-plain-text-marker-4b1d';
  bootstrapAdminKey(store, seed);
  const added = generateKey();
  store.tokens.insert(generatedTokenRecord(added, 'ci'));
  t.true(await createKeyVerifier(store)(seed));
  t.true(await createKeyVerifier(store)(added));
  store.close();

  const files = await readdir(dir);
  t.true(files.includes('lambda.db'));
  for (const file of files) {
    const bytes = await readFile(join(dir, file));
    t.false(bytes.includes(seed), `${file} holds the seeded key`);
    t.false(bytes.includes(sha256(seed)), `${file} holds a fast hash of the seeded key`);
    t.false(bytes.includes(added), `${file} holds the created key`);
  }

  const reopened = openStore(join(dir, 'lambda.db'));
  try {
    t.true(await createKeyVerifier(reopened)(seed));
    t.true(await createKeyVerifier(reopened)(added));
  } finally {
    reopened.close();
  }
});

test('the seed this start was given is known without any scrypt', async (t) => {
  const { seedId } = bootstrapAdminKey(t.context.store, 'seed-of-this-start');
  const counted = counting(t.context.store);
  const verify = createKeyVerifier(counted.store, undefined, { seed: { key: 'seed-of-this-start', id: seedId as string } });
  t.true(await verify('seed-of-this-start'));
  t.is(counted.scryptRounds(), 0);
});

test('a key in the generated form never costs scrypt, and a seed in that form is stored as SHA-256', async (t) => {
  const { store } = t.context;
  bootstrapAdminKey(store, 'a-chosen-seed-0123456789');
  const given = generateKey();
  const { seedId } = bootstrapAdminKey(store, given);
  t.like(store.tokens.get(seedId as string), { scheme: 'sha256', hash: sha256(given), name: 'LAMBDA_API_KEY' });
  t.deepEqual(bootstrapAdminKey(store, given), { seedId, revoked: 0 }, 'a second start finds it');
  const counted = counting(store);
  const verify = createKeyVerifier(counted.store);
  t.true(await verify(given));
  t.false(await verify(generateKey()));
  t.is(counted.scryptRounds(), 0);
});

test('a generated key seeded by an older release as scrypt is stored as SHA-256 again', async (t) => {
  const { store } = t.context;
  const given = generateKey();
  bootstrapAdminKey(store, 'placeholder-0123456789');
  const [row] = store.tokens.list();
  // What an older release stored for this seed: a scrypt row.
  const { chosenTokenRecord: chosenKeyRecord } = await import('./token-check.js');
  store.tokens.insert({ ...chosenKeyRecord(given, 'admin'), createdAt: '2024-01-01T00:00:00.000Z' });
  const { seedId } = bootstrapAdminKey(store, given);
  t.like(store.tokens.get(seedId as string), { scheme: 'sha256', name: 'admin', createdAt: '2024-01-01T00:00:00.000Z', seeded: true });
  // The placeholder was the variable's value before: rotated out.
  t.is(store.tokens.count(), 1);
  t.is(store.tokens.get(row?.id ?? ''), undefined);
  t.true(await createKeyVerifier(store)(given));
});

test('wrong keys from one client are limited: 429 without hashing once its allowance is used, others unaffected', async (t) => {
  const { store } = t.context;
  bootstrapAdminKey(store, 'the-real-seed-0123456789');
  const generated = generateKey();
  store.tokens.insert(generatedTokenRecord(generated, 'ci'));
  const counted = counting(store);
  let clock = 0;
  const limiter = createAuthLimiter({ failures: 3, windowMs: 60_000 }, () => clock);
  const verify = createKeyVerifier(counted.store, undefined, { limiter });

  for (let i = 0; i < 3; i++) t.false(await verify(`wrong-${i}`, '10.0.0.1'));
  t.is(counted.scryptRounds(), 3);
  const refused = await t.throwsAsync(verify('wrong-again', '10.0.0.1'), { instanceOf: LambdaError });
  t.is(refused?.code, 'LAMBDA_ERR_AUTH_RATE_LIMITED');
  t.deepEqual(refused?.details, { retryAfterSeconds: 20 });
  t.is(counted.scryptRounds(), 3, 'nothing hashed for a limited client');
  // A wrong key in the generated form is cheap, and still refused as limited.
  await t.throwsAsync(verify(generateKey(), '10.0.0.1'), { message: /too many wrong API keys/ });
  // The right generated key still works for that client: checking it costs no more than refusing it.
  t.true(await verify(generated, '10.0.0.1'));
  // Another client has its own allowance; the seed is found by scrypt and gives its charge back.
  t.true(await verify('the-real-seed-0123456789', '10.0.0.2'));
  t.false(await verify('wrong', '10.0.0.2'));
  // The allowance comes back over the window.
  clock += 20_000;
  t.false(await verify('wrong-later', '10.0.0.1'));
  await t.throwsAsync(verify('wrong-later-still', '10.0.0.1'), { instanceOf: LambdaError });
});

test('no key at all is refused without counting as a wrong one', async (t) => {
  const limiter = createAuthLimiter({ failures: 1, windowMs: 60_000 });
  const verify = createKeyVerifier(t.context.store, undefined, { limiter });
  for (let i = 0; i < 5; i++) t.false(await verify(undefined, '10.0.0.1'));
  t.false(await verify('wrong', '10.0.0.1'));
  await t.throwsAsync(verify('wrong', '10.0.0.1'), { instanceOf: LambdaError });
});

test('at most two scrypts run at once for the whole server; a third is refused at once', async (t) => {
  bootstrapAdminKey(t.context.store, 'slow-seed-0123456789');
  const limiter = createAuthLimiter({ failures: 100, windowMs: 60_000 });
  const verify = createKeyVerifier(t.context.store, undefined, { limiter });
  const results = await Promise.allSettled([verify('a', '10.0.0.1'), verify('b', '10.0.0.2'), verify('c', '10.0.0.3')]);
  t.deepEqual(
    results.map((result) => result.status),
    ['fulfilled', 'fulfilled', 'rejected'],
  );
  t.false(await verify('d', '10.0.0.3'), 'the slots are free again afterwards');
});
