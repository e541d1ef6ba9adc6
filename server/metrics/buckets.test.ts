import test from 'ava';
import { BUCKET_BOUNDS_MS, addBuckets, bucketOf, quantile } from './buckets.js';
import type { Buckets } from './types.js';

test('a duration falls in the first bucket whose bound holds it', (t) => {
  t.is(bucketOf(0), 0);
  t.is(bucketOf(0.5), 0);
  for (const ms of [0.6, 1, 7, 100, 1234, 60_000, 900_000]) {
    const index = bucketOf(ms);
    t.true(ms <= (BUCKET_BOUNDS_MS[index] as number), `${ms} ≤ bound ${index}`);
    t.true(ms > (BUCKET_BOUNDS_MS[index - 1] as number), `${ms} > bound ${index - 1}`);
  }
  t.is(bucketOf(10 ** 9), BUCKET_BOUNDS_MS.length - 1);
});

test('percentiles from merged buckets are within 10% of the exact ones', (t) => {
  const durations = Array.from({ length: 1000 }, (_, i) => 2 + i * 0.7);
  const buckets: Buckets = {};
  for (const ms of durations) addBuckets(buckets, { [bucketOf(ms)]: 1 });
  for (const q of [0.5, 0.95, 0.99]) {
    const exact = durations[Math.ceil(q * durations.length) - 1] as number;
    const estimate = quantile(buckets, q) as number;
    t.true(Math.abs(estimate - exact) / exact < 0.1, `q${q}: ${estimate} vs ${exact}`);
  }
});

test('no invocations, no percentile', (t) => {
  t.is(quantile({}, 0.5), null);
  t.is(quantile({ 3: 0 }, 0.99), null);
});

test('one invocation gives one duration for every percentile', (t) => {
  const buckets: Buckets = { [bucketOf(2.3)]: 1 };
  const p50 = quantile(buckets, 0.5) as number;
  t.is(quantile(buckets, 0.95), p50);
  t.is(quantile(buckets, 0.99), p50);
  const index = bucketOf(2.3);
  t.true(p50 > (BUCKET_BOUNDS_MS[index - 1] as number) && p50 <= (BUCKET_BOUNDS_MS[index] as number), String(p50));
});

test('each percentile is the place of its nearest-rank invocation in its bucket', (t) => {
  // Ten invocations in one bucket: p50 is the 5th, p95 and p99 the 10th, each at the middle of its share.
  const index = bucketOf(100);
  const lower = BUCKET_BOUNDS_MS[index - 1] as number;
  const upper = BUCKET_BOUNDS_MS[index] as number;
  const at = (position: number) => Math.round(lower * (upper / lower) ** position * 100) / 100;
  t.is(quantile({ [index]: 10 }, 0.5), at(0.45));
  t.is(quantile({ [index]: 10 }, 0.95), at(0.95));
  t.is(quantile({ [index]: 10 }, 0.99), at(0.95));
  // Nine fast and one slow: p50 lies among the fast, p95 and p99 are the slow one.
  t.is(quantile({ 10: 9, [index]: 1 }, 0.95), at(0.5));
  t.true((quantile({ 10: 9, [index]: 1 }, 0.5) as number) <= (BUCKET_BOUNDS_MS[10] as number));
});
