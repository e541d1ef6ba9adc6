// The queue's SQL with real SQLite: taking is one call per row, a restart puts taken calls back without counting the
// cut-short attempt, retries wait their backoff, a dead letter is replayed once, and stats count what waits.
import test from 'ava';
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
