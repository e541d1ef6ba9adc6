// The queue's SQL with real SQLite: taking is one call per row, a restart puts taken calls back without counting the
// cut-short attempt, retries wait their backoff, a dead letter is replayed once, stats count what waits, and what a
// function keeps stays within its bound (bytes, dead letters' share, age).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { openStore } from './sqlite.js';
import type { InvocationRecord } from './types.js';

function setup() {
  const store = openStore(':memory:');
  store.functions.ensure('greet');
  const call = (id: string, createdAt: number): InvocationRecord => ({
    id, fn: 'greet', kind: 'event', payload: `{"n":"${id}"}`, status: 'queued', attempts: 0, error: null, result: null, replayOf: null, createdAt, runAfter: createdAt, finishedAt: null,
  });
  return { store, call };
}

test('calls are taken oldest first, once each, and counted as attempts', (t) => {
  const { store, call } = setup();
  store.invocations.insert(call('b', 2));
  store.invocations.insert(call('a', 1));
  t.like(store.invocations.take('greet', 10), { id: 'a', status: 'running', attempts: 1 });
  t.like(store.invocations.take('greet', 10), { id: 'b', attempts: 1 });
  t.is(store.invocations.take('greet', 10), undefined);
  t.deepEqual(store.invocations.stats().get('greet'), { depth: 2, oldestWaiting: null });
});

test('a restart puts taken calls back without counting the attempt that was cut short', (t) => {
  const { store, call } = setup();
  store.invocations.insert(call('a', 1));
  store.invocations.take('greet', 10);
  t.is(store.invocations.requeueRunning(), 1);
  t.like(store.invocations.get('greet', 'a'), { status: 'queued', attempts: 0 });
  t.deepEqual(store.invocations.stats().get('greet'), { depth: 1, oldestWaiting: 1 });
});

test('a retry waits for its time; a dead letter keeps its error and is replayed once', (t) => {
  const { store, call } = setup();
  store.invocations.insert(call('a', 1));
  store.invocations.take('greet', 10);
  store.invocations.fail('a', 'boom', 500, 20);
  t.is(store.invocations.take('greet', 499), undefined, 'not before its backoff');
  t.like(store.invocations.take('greet', 500), { id: 'a', attempts: 2 });
  store.invocations.fail('a', 'boom again', null, 600);
  t.like(store.invocations.get('greet', 'a'), { status: 'failed', attempts: 2, error: 'boom again', finishedAt: 600 });
  t.deepEqual(store.invocations.list('greet', 'failed', 10).map((r) => r.id), ['a']);
  t.true(store.invocations.replay('greet', 'a', call('a2', 700)));
  t.false(store.invocations.replay('greet', 'a', call('a3', 800)), 'replayed once');
  t.is(store.invocations.get('greet', 'a')?.status, 'replayed');
  t.is(store.invocations.get('greet', 'a3'), undefined);
  t.is(store.invocations.waiting('greet'), 1);
});

// Bounds on what a function keeps: a 100-byte payload per call, a bound of 1000 bytes, dead letters 250, no reserve.
const bound = { maxBytes: 1000, deadLetterBytes: 250, reserveBytes: 0 };
const sized = (record: InvocationRecord): InvocationRecord => ({ ...record, payload: JSON.stringify('x'.repeat(98)) });

test('admit refuses a call once waiting calls would pass the bound, and prunes finished calls oldest first to make room', (t) => {
  const { store, call } = setup();
  for (let i = 0; i < 10; i++) t.true(store.invocations.admit(sized(call(`w${i}`, i)), bound));
  t.is(store.invocations.keptBytes('greet'), 1000);
  t.false(store.invocations.admit(sized(call('over', 10)), bound), 'ten waiting calls fill it');
  t.is(store.invocations.get('greet', 'over'), undefined);
  for (let i = 0; i < 4; i++) {
    const taken = store.invocations.take('greet', 100);
    store.invocations.succeed(taken?.id ?? '', 'ok', 200 + i);
  }
  t.is(store.invocations.keptBytes('greet'), 1008, 'results count too');
  t.deepEqual(store.invocations.trim('greet', bound), { finished: 1, deadLetters: [] });
  t.is(store.invocations.get('greet', 'w0'), undefined, 'the oldest finished call went first');
  t.true(store.invocations.admit(sized(call('later', 11)), bound), 'a finished call makes room');
  t.is(store.invocations.get('greet', 'w1'), undefined);
  t.like(store.invocations.get('greet', 'w3'), { status: 'succeeded', result: 'ok' }, 'the newest result stays');
  t.true(store.invocations.keptBytes('greet') <= 1000);
});

test('each waiting call counts with room for its result', (t) => {
  const { store, call } = setup();
  const reserved = { ...bound, reserveBytes: 100 };
  for (let i = 0; i < 5; i++) t.true(store.invocations.admit(sized(call(`w${i}`, i)), reserved));
  t.false(store.invocations.admit(sized(call('over', 5)), reserved), '5 × (100 + 100) fill 1000');
});

test('dead letters keep their share: a flood does not push them out, the oldest go past it', (t) => {
  const { store, call } = setup();
  for (let i = 0; i < 3; i++) {
    store.invocations.admit(sized(call(`d${i}`, i)), bound);
    const taken = store.invocations.take('greet', 100);
    store.invocations.fail(taken?.id ?? '', 'boom', null, 100 + i);
  }
  t.deepEqual(store.invocations.trim('greet', bound), { finished: 0, deadLetters: ['d0'] }, '3 × 104 bytes pass the 250 share');
  let admitted = 0;
  for (let i = 0; i < 20; i++) if (store.invocations.admit(sized(call(`w${i}`, 10 + i)), bound)) admitted++;
  t.is(admitted, 7, 'room for what the dead letters leave');
  t.deepEqual(store.invocations.list('greet', 'failed', 10).map((r) => r.id), ['d2', 'd1']);
});

test('a replay that would pass the bound changes nothing', (t) => {
  const { store, call } = setup();
  store.invocations.admit(sized(call('d', 1)), bound);
  store.invocations.take('greet', 10);
  store.invocations.fail('d', 'boom', null, 20);
  for (let i = 0; i < 8; i++) store.invocations.admit(sized(call(`w${i}`, 10 + i)), bound);
  const big = { ...call('copy', 30), payload: JSON.stringify('x'.repeat(298)) };
  t.is(store.invocations.replay('greet', 'd', big, bound), 'full', '800 waiting + a 300-byte copy');
  t.like(store.invocations.get('greet', 'd'), { status: 'failed' });
  t.is(store.invocations.get('greet', 'copy'), undefined);
  t.true(store.invocations.replay('greet', 'd', big, { ...bound, maxBytes: 2000 }));
});

test('expire deletes finished calls and dead letters past their age, never waiting ones', (t) => {
  const { store, call } = setup();
  for (const id of ['a', 'b', 'c', 'd']) store.invocations.insert(call(id, 1));
  store.invocations.take('greet', 10);
  store.invocations.succeed('a', 'ok', 100);
  store.invocations.take('greet', 10);
  store.invocations.succeed('b', 'ok', 300);
  store.invocations.take('greet', 10);
  store.invocations.fail('c', 'boom', null, 100);
  const expired = store.invocations.expire(200, 50);
  t.deepEqual(expired, { finished: 1, deadLetters: [] });
  t.deepEqual(store.invocations.expire(200, 150), { finished: 0, deadLetters: [{ fn: 'greet', id: 'c' }] });
  t.deepEqual(store.invocations.list('greet', undefined, 10).map((r) => r.id).sort(), ['b', 'd']);
  store.invocations.compact();
});

test('a new database is made with incremental auto-vacuum', (t) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-store-')), 'lambda.db');
  openStore(file).close();
  const db = new Database(file, { readonly: true });
  t.is(db.pragma('auto_vacuum', { simple: true }), 2);
  db.close();
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
});

test('an older database (WAL, no auto-vacuum) is converted once at open, its rows kept', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-store-'));
  const file = path.join(dir, 'lambda.db');
  const old = new Database(file);
  old.pragma('journal_mode = WAL');
  old.exec('CREATE TABLE kept (x TEXT)');
  old.prepare('INSERT INTO kept VALUES (?)').run('y'.repeat(100_000));
  t.is(old.pragma('auto_vacuum', { simple: true }), 0);
  old.close();
  openStore(file).close();
  const db = new Database(file, { readonly: true });
  t.is(db.pragma('auto_vacuum', { simple: true }), 2);
  t.is((db.prepare('SELECT length(x) AS n FROM kept').get() as { n: number }).n, 100_000);
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the running totals follow every change: insert, take, retry, succeed, dead-letter, replay, prune, expire', (t) => {
  const { store, call } = setup();
  const actual = () =>
    store.invocations.list('greet', undefined, 1000).reduce((sum, r) => sum + Buffer.byteLength(r.payload) + Buffer.byteLength(r.result ?? '') + Buffer.byteLength(r.error ?? ''), 0);
  for (let i = 0; i < 6; i++) store.invocations.admit(sized(call(`c${i}`, i)), { ...bound, maxBytes: 10_000 });
  store.invocations.take('greet', 10);
  store.invocations.fail('c0', 'first error é', 20, 15);
  store.invocations.take('greet', 10);
  store.invocations.succeed('c1', 'résultat', 30);
  store.invocations.take('greet', 10);
  store.invocations.fail('c2', 'dead', null, 40);
  t.is(store.invocations.keptBytes('greet'), actual());
  store.invocations.replay('greet', 'c2', sized(call('c2-copy', 50)));
  t.is(store.invocations.keptBytes('greet'), actual());
  store.invocations.trim('greet', { ...bound, maxBytes: 500 });
  t.is(store.invocations.keptBytes('greet'), actual());
  store.invocations.expire(1_000, 1_000);
  t.is(store.invocations.keptBytes('greet'), actual());
  t.true(actual() > 0);
});
