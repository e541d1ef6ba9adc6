// Compaction of metrics rows into wider ones: exact merges, idempotence, the range's edges, a late minute, chunks.
import test from 'ava';
import { openStore } from './sqlite.js';
import type { MetricMinute } from './metric-types.js';

const MINUTE = 60_000;
const QUARTER = 15 * MINUTE;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-12-01T00:00:00Z');

const row = (over: Partial<MetricMinute> = {}): MetricMinute => ({
  fn: 'greet',
  version: 1,
  minute: T0,
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

/** What a summary reads: sums, the most memory, the merged histogram. */
function totals(rows: MetricMinute[]) {
  const sum = { invocations: 0, handlerErrors: 0, timeouts: 0, crashes: 0, throttles: 0, coldStarts: 0, coldStartMs: 0, durationMs: 0, maxMemoryMb: 0, buckets: {} as Record<number, number> };
  for (const r of rows) {
    for (const field of ['invocations', 'handlerErrors', 'timeouts', 'crashes', 'throttles', 'coldStarts', 'coldStartMs', 'durationMs'] as const) sum[field] += r[field];
    sum.maxMemoryMb = Math.max(sum.maxMemoryMb, r.maxMemoryMb);
    for (const [index, count] of Object.entries(r.buckets)) sum.buckets[Number(index)] = (sum.buckets[Number(index)] ?? 0) + count;
  }
  return sum;
}

test('minute rows merge into one row per 15 minutes, key and trigger: counts, sums, memory and histogram exact', (t) => {
  const store = openStore(':memory:');
  const rows: MetricMinute[] = [];
  for (let i = 0; i < 30; i++) {
    rows.push(row({ minute: T0 + i * MINUTE, invocations: i + 1, handlerErrors: i % 3, timeouts: i % 2, crashes: i % 5 === 0 ? 1 : 0, throttles: i % 4, coldStarts: i % 7 === 0 ? 1 : 0, coldStartMs: i % 7 === 0 ? 300.5 : 0, durationMs: 10.25 * (i + 1), maxMemoryMb: 20 + ((i * 37) % 50), buckets: { [i % 9]: i + 1, 40: 2 } }));
    rows.push(row({ minute: T0 + i * MINUTE, trigger: 'async', version: 2, invocations: 2 }));
  }
  store.metrics.add(rows);
  const before = store.metrics.list({ since: 0 });

  t.is(store.metrics.compact(QUARTER, T0, T0 + 30 * MINUTE), 60 - 4);

  const after = store.metrics.list({ since: 0 });
  t.deepEqual(after.map((r) => [r.minute - T0, r.width, r.trigger, r.version]), [
    [0, QUARTER, 'http', 1],
    [0, QUARTER, 'async', 2],
    [QUARTER, QUARTER, 'http', 1],
    [QUARTER, QUARTER, 'async', 2],
  ]);
  for (const [trigger, version] of [['http', 1], ['async', 2]] as const) {
    for (const start of [T0, T0 + QUARTER]) {
      const of = (list: MetricMinute[]) => list.filter((r) => r.trigger === trigger && r.version === version && r.minute >= start && r.minute < start + QUARTER);
      t.deepEqual(totals(of(after)), totals(of(before)));
    }
  }
  t.deepEqual(store.metrics.totals(0), (() => {
    const fresh = openStore(':memory:');
    fresh.metrics.add(rows);
    return fresh.metrics.totals(0);
  })(), 'the totals Prometheus is seeded from are unchanged');
});

test('running it again changes nothing; rows outside the range and wider rows are left alone', (t) => {
  const store = openStore(':memory:');
  store.metrics.add([row({ minute: T0 - MINUTE }), row({ minute: T0 }), row({ minute: T0 + 14 * MINUTE }), row({ minute: T0 + QUARTER })]);
  t.is(store.metrics.compact(QUARTER, T0, T0 + QUARTER), 1);
  const once = store.metrics.list({ since: 0 });
  t.is(store.metrics.compact(QUARTER, T0, T0 + QUARTER), 0);
  t.deepEqual(store.metrics.list({ since: 0 }), once);
  t.deepEqual(once.map((r) => [r.minute - T0, r.width, r.invocations]), [
    [-MINUTE, MINUTE, 1],
    [0, QUARTER, 2],
    [QUARTER, MINUTE, 1],
  ]);
  // An hour's compaction takes the 15-minute row in with the rest.
  store.metrics.add([row({ minute: T0 + 59 * MINUTE, invocations: 4 })]);
  t.is(store.metrics.compact(HOUR, T0, T0 + HOUR), 2);
  t.deepEqual(store.metrics.list({ since: T0 }).map((r) => [r.minute - T0, r.width, r.invocations]), [[0, HOUR, 7]]);
});

test('a late minute in a compacted range joins the wide row: at its start by the upsert, elsewhere at the next compaction', (t) => {
  const store = openStore(':memory:');
  store.metrics.add([row({ minute: T0 }), row({ minute: T0 + MINUTE })]);
  store.metrics.compact(HOUR, T0, T0 + HOUR);
  store.metrics.add([row({ minute: T0, invocations: 3, maxMemoryMb: 90, buckets: { 20: 3 } })]);
  t.like(store.metrics.list({ since: 0 }), [{ minute: T0, width: HOUR, invocations: 5, maxMemoryMb: 90, buckets: { 12: 2, 20: 3 } }]);

  store.metrics.add([row({ minute: T0 + 42 * MINUTE, invocations: 10, buckets: { 30: 10 } })]);
  t.is(store.metrics.list({ since: 0 }).length, 2, 'a late minute is its own row until then');
  t.is(store.metrics.compact(HOUR, T0, T0 + HOUR), 1);
  t.like(store.metrics.list({ since: 0 }), [{ minute: T0, width: HOUR, invocations: 15, buckets: { 12: 2, 20: 3, 30: 10 } }]);
  t.is(store.metrics.list({ since: 0 }).length, 1);
});

test('many days are merged a day per transaction, every row accounted for', (t) => {
  const store = openStore(':memory:');
  const rows: MetricMinute[] = [];
  for (let at = T0; at < T0 + 3 * DAY; at += 7 * MINUTE) rows.push(row({ minute: at, invocations: 2 }));
  store.metrics.add(rows);
  const gone = store.metrics.compact(HOUR, T0, T0 + 3 * DAY);
  const after = store.metrics.list({ since: 0 });
  t.is(after.length, 72);
  t.is(gone, rows.length - 72);
  t.is(after.reduce((sum, r) => sum + r.invocations, 0), 2 * rows.length);
  t.true(after.every((r) => r.width === HOUR && (r.minute - T0) % HOUR === 0));
});
