// The duration histogram kept per minute: fine, fixed buckets (each about 19% wider than the one before), so
// percentiles over any window are estimated from the merged counts within about 10%, and a minute's row stays small
// (only buckets with counts are stored).
import type { Buckets } from './types.js';

/** Upper bounds in ms: 0.5 ms × 2^(i/4), up to past 15 minutes (the longest timeout). */
export const BUCKET_BOUNDS_MS: readonly number[] = Array.from({ length: 86 }, (_, i) => 0.5 * 2 ** (i / 4));

/** The index of the bucket a duration falls in (the last one holds anything longer). */
export function bucketOf(durationMs: number): number {
  if (!(durationMs > 0.5)) return 0;
  const index = Math.ceil(4 * Math.log2(durationMs / 0.5) - 1e-9);
  return Math.min(index, BUCKET_BOUNDS_MS.length - 1);
}


export function addBuckets(into: Buckets, from: Buckets): Buckets {
  for (const [index, count] of Object.entries(from)) into[Number(index)] = (into[Number(index)] ?? 0) + count;
  return into;
}

/**
 * The q-quantile (0 < q ≤ 1) of the durations counted in `buckets`; null when there are none. It is the nearest-rank
 * invocation's (the ceil(q·n)-th fastest), placed inside its bucket (on a log scale) at the middle of its share of
 * the bucket's invocations: one invocation then gives one figure for every q, not a spread the data does not have.
 */
export function quantile(buckets: Buckets, q: number): number | null {
  const entries = Object.entries(buckets)
    .map(([index, count]) => [Number(index), count] as const)
    .filter(([, count]) => count > 0)
    .sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.min(total, Math.max(1, Math.ceil(q * total - 1e-9)));
  let seen = 0;
  for (const [index, count] of entries) {
    if (seen + count >= rank) {
      const upper = BUCKET_BOUNDS_MS[index] as number;
      const lower = index === 0 ? 0 : (BUCKET_BOUNDS_MS[index - 1] as number);
      const within = (rank - seen - 0.5) / count;
      const value = lower === 0 ? upper * within : lower * (upper / lower) ** within;
      return Math.round(value * 100) / 100;
    }
    seen += count;
  }
  return BUCKET_BOUNDS_MS[entries[entries.length - 1]![0]] as number;
}
