import test from 'ava';
import { bucketOf } from './buckets.js';
import { groupBy, series, summarize } from './summary.js';
import type { MetricMinute } from './types.js';

const MINUTE = 60_000;
const T0 = Date.parse('2026-12-01T10:00:00Z');

function row(part: Partial<MetricMinute> & { durations?: number[] }): MetricMinute {
  const buckets: Record<number, number> = {};
  for (const ms of part.durations ?? []) buckets[bucketOf(ms)] = (buckets[bucketOf(ms)] ?? 0) + 1;
  const { durations, ...rest } = part;
  return {
    fn: 'greet', version: 1, minute: T0, trigger: 'http', invocations: durations?.length ?? 0, handlerErrors: 0, timeouts: 0, crashes: 0,
    throttles: 0, coldStarts: 0, coldStartMs: 0, durationMs: (durations ?? []).reduce((a, b) => a + b, 0), maxMemoryMb: 0, buckets, ...rest,
  };
}

test('errors add up the three kinds; throttles are neither invocations nor errors', (t) => {
  const summary = summarize([
    row({ durations: [10, 10, 10, 10], handlerErrors: 1, timeouts: 1, coldStarts: 1 }),
    row({ trigger: 'direct', durations: [20, 20, 20, 20], crashes: 1, throttles: 3 }),
    row({ trigger: 'async', minute: T0 + MINUTE, throttles: 2 }),
  ]);
  t.like(summary, { invocations: 8, errors: 3, errorRate: 0.375, coldStarts: 1, throttles: 5 });
});

test('the error kinds apart, and the most memory any row reported', (t) => {
  const summary = summarize([
    row({ durations: [10, 10, 10], handlerErrors: 2, timeouts: 1, maxMemoryMb: 48 }),
    row({ trigger: 'direct', durations: [20, 20], crashes: 1, maxMemoryMb: 120 }),
    row({ trigger: 'async', durations: [5], handlerErrors: 1 }),
  ]);
  t.like(summary, { errors: 5, handlerErrors: 3, timeouts: 1, crashes: 1, maxMemoryMb: 120 });
  t.is(summarize([row({ durations: [5] })]).maxMemoryMb, null, 'no REPORT line told a figure');
});

test('percentiles come from the merged buckets of every row, within 10%', (t) => {
  const fast = Array.from({ length: 90 }, () => 10);
  const slow = Array.from({ length: 10 }, () => 1000);
  const summary = summarize([row({ durations: fast }), row({ minute: T0 + MINUTE, durations: slow })]);
  t.true(Math.abs((summary.p50Ms as number) - 10) / 10 < 0.1, String(summary.p50Ms));
  t.true(Math.abs((summary.p95Ms as number) - 1000) / 1000 < 0.1, String(summary.p95Ms));
  t.true(Math.abs((summary.p99Ms as number) - 1000) / 1000 < 0.1, String(summary.p99Ms));
});

test('no rows: zeros and null percentiles; only throttles: still no percentile', (t) => {
  const none = { invocations: 0, errors: 0, errorRate: 0, p50Ms: null, p95Ms: null, p99Ms: null, coldStarts: 0, throttles: 0, handlerErrors: 0, timeouts: 0, crashes: 0, maxMemoryMb: null };
  t.deepEqual(summarize([]), none);
  t.deepEqual(summarize([row({ throttles: 4 })]), { ...none, throttles: 4 });
});

test('a series has every step from since to until, oldest first, zeros where nothing ran', (t) => {
  const rows = [
    row({ minute: T0, durations: [5] }),
    row({ minute: T0 + 4 * MINUTE, durations: [5, 5], handlerErrors: 1 }),
    row({ minute: T0 + 11 * MINUTE, throttles: 1, coldStarts: 0 }),
    row({ minute: T0 - MINUTE, durations: [5] }),
    row({ minute: T0 + 15 * MINUTE, durations: [5] }),
  ];
  const points = series(rows, { since: T0, until: T0 + 15 * MINUTE, step: 5 * MINUTE });
  t.deepEqual(points.map((p) => p.at), ['2026-12-01T10:00:00.000Z', '2026-12-01T10:05:00.000Z', '2026-12-01T10:10:00.000Z']);
  t.deepEqual(points.map((p) => [p.invocations, p.errors, p.throttles]), [[3, 1, 0], [0, 0, 0], [0, 0, 1]]);
  t.is(points[1]?.p50Ms, null);
  t.is(typeof points[0]?.p95Ms, 'number');
});

test('a window that is not a whole number of steps ends with a shorter step', (t) => {
  const points = series([row({ minute: T0 + 6 * MINUTE, durations: [1] })], { since: T0, until: T0 + 6 * MINUTE + 30_000, step: 5 * MINUTE });
  t.deepEqual(points.map((p) => p.invocations), [0, 1]);
});

test('groupBy keeps each group in order', (t) => {
  const groups = groupBy([row({ version: 2, minute: 1 }), row({ version: 1 }), row({ version: 2, minute: 2 })], (r) => r.version);
  t.deepEqual([...groups.keys()], [2, 1]);
  t.deepEqual(groups.get(2)?.map((r) => r.minute), [1, 2]);
});
