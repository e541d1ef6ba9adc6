// How old metrics rows are kept: per minute for the recent past, then per 15 minutes, then per hour up to the
// retention, so a question about 14 days reads hundreds of rows per function version and trigger, not 20,160.
import type { MetricQueries } from '../store/metric-types.js';

export const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

export interface Tier {
  /** How many ms one row covers. */
  width: number;
  /** Rows older than this are merged into rows of `width`. */
  after: number;
}

/** Finest to coarsest; each width a multiple of the one before, each `after` longer. */
export const TIERS: readonly Tier[] = [
  { width: 15 * MINUTE_MS, after: 2 * HOUR_MS },
  { width: HOUR_MS, after: 48 * HOUR_MS },
];

/** Where `tier`'s rows end at time `now`: rows starting before it may be that wide, rows from it on are finer. */
export function tierEnd(tier: Tier, now: number): number {
  return Math.floor((now - tier.after) / tier.width) * tier.width;
}

/**
 * The widest a row starting at `time` may be at `now`. Compaction runs before `now` and its tiers' ends only move
 * forward, so a row from a tier's end on was never merged into that tier.
 */
export function widthAt(time: number, now: number): number {
  let width = MINUTE_MS;
  for (const tier of TIERS) if (time < tierEnd(tier, now)) width = tier.width;
  return width;
}

/**
 * Merges the rows each tier covers at `now`, coarsest first: each tier takes the rows from the next coarser tier's
 * end up to its own. Never near the minutes being written (the finest tier starts 2 hours back). Returns how many
 * rows were merged away.
 */
export function compactTiers(store: Pick<MetricQueries, 'compact'>, now: number): number {
  let gone = 0;
  let from = 0;
  for (const tier of [...TIERS].reverse()) {
    const before = tierEnd(tier, now);
    if (before > from) gone += store.compact(tier.width, from, before);
    from = Math.max(from, before);
  }
  return gone;
}
