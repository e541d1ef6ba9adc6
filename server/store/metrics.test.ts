import test from 'ava';
import { openStore } from './sqlite.js';
import type { MetricMinute } from './metric-types.js';

const row = (over: Partial<MetricMinute> = {}): MetricMinute => ({
  fn: 'greet',
  version: 1,
  minute: 60_000,
  trigger: 'http',
  invocations: 1,
  handlerErrors: 0,
  timeouts: 0,
  crashes: 0,
  throttles: 0,
  coldStarts: 0,
  coldStartMs: 0,
  durationMs: 5,
  maxMemoryMb: 40,
  buckets: { 12: 1 },
  ...over,
});

test('rows of one key merge: counts add, the histogram merges, memory keeps its maximum', (t) => {
  const store = openStore(':memory:');
  store.metrics.add([row(), row({ handlerErrors: 1, durationMs: 7, maxMemoryMb: 30, buckets: { 12: 1, 14: 2 } })]);
  store.metrics.add([row({ trigger: 'async' })]);
  const [http, async] = [store.metrics.list({ since: 0 }).find((r) => r.trigger === 'http'), store.metrics.list({ since: 0 }).find((r) => r.trigger === 'async')];
  t.like(http, { invocations: 2, handlerErrors: 1, durationMs: 12, maxMemoryMb: 40, buckets: { 12: 2, 14: 2 } });
  t.like(async, { invocations: 1 });
});

test('a window, one function, pruning and a deleted function', (t) => {
  const store = openStore(':memory:');
  store.metrics.add([row({ minute: 0 }), row({ minute: 60_000 }), row({ minute: 120_000, fn: 'other' })]);
  t.is(store.metrics.list({ since: 60_000 }).length, 2);
  t.is(store.metrics.list({ since: 0, until: 120_000 }).length, 2);
  t.deepEqual(store.metrics.list({ since: 0, fn: 'other' }).map((r) => r.minute), [120_000]);
  t.is(store.metrics.prune(60_000), 1);
  store.metrics.dropFunction('other');
  t.deepEqual(store.metrics.list({ since: 0 }).map((r) => [r.fn, r.minute]), [['greet', 60_000]]);
});

test('totals sum each version and trigger over the minutes from a time on, memory its maximum', (t) => {
  const store = openStore(':memory:');
  store.metrics.add([row({ minute: 0 }), row({ minute: 60_000, timeouts: 1, maxMemoryMb: 70 }), row({ minute: 120_000, throttles: 2, invocations: 0 }), row({ minute: 120_000, version: 2 })]);
  t.deepEqual(store.metrics.totals(60_000), [
    { fn: 'greet', version: 1, trigger: 'http', invocations: 1, handlerErrors: 0, timeouts: 1, crashes: 0, throttles: 2, coldStarts: 0, coldStartMs: 0, durationMs: 10, maxMemoryMb: 70 },
    { fn: 'greet', version: 2, trigger: 'http', invocations: 1, handlerErrors: 0, timeouts: 0, crashes: 0, throttles: 0, coldStarts: 0, coldStartMs: 0, durationMs: 5, maxMemoryMb: 40 },
  ]);
});
