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
