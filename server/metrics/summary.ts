// Per-minute rows → what people read: a summary per function or version over a window, and a series of points per step.
import { addBuckets, quantile } from './buckets.js';
import type { Buckets, MetricMinute, MetricsSummary } from './types.js';

/** One step of a series: the invocations of the minutes from `at` (ISO) up to the next step's start. */
export interface SeriesPoint {
  at: string;
  invocations: number;
  errors: number;
  throttles: number;
  coldStarts: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

/**
 * Totals of `rows`. A throttle is counted apart: a 429 never ran, so it is neither an invocation nor an error, and
 * its rows' (empty) buckets leave the percentiles alone.
 */
export function summarize(rows: readonly MetricMinute[]): MetricsSummary {
  let invocations = 0;
  let handlerErrors = 0;
  let timeouts = 0;
  let crashes = 0;
  let coldStarts = 0;
  let throttles = 0;
  let maxMemoryMb = 0;
  const buckets: Buckets = {};
  for (const row of rows) {
    invocations += row.invocations;
    handlerErrors += row.handlerErrors;
    timeouts += row.timeouts;
    crashes += row.crashes;
    coldStarts += row.coldStarts;
    throttles += row.throttles;
    maxMemoryMb = Math.max(maxMemoryMb, row.maxMemoryMb);
    addBuckets(buckets, row.buckets);
  }
  const errors = handlerErrors + timeouts + crashes;
  return {
    invocations,
    errors,
    errorRate: invocations === 0 ? 0 : round(errors / invocations, 4),
    p50Ms: quantile(buckets, 0.5),
    p95Ms: quantile(buckets, 0.95),
    p99Ms: quantile(buckets, 0.99),
    coldStarts,
    throttles,
    handlerErrors,
    timeouts,
    crashes,
    // A row keeps 0 when no REPORT line told a figure: no figure, rather than a claim of 0 MB.
    maxMemoryMb: maxMemoryMb > 0 ? maxMemoryMb : null,
  };
}

/** `rows` grouped by `key`, each group in the rows' order. */
export function groupBy<K>(rows: readonly MetricMinute[], key: (row: MetricMinute) => K): Map<K, MetricMinute[]> {
  const groups = new Map<K, MetricMinute[]>();
  for (const row of rows) {
    const group = groups.get(key(row));
    if (group) group.push(row);
    else groups.set(key(row), [row]);
  }
  return groups;
}

/**
 * One point per `step` ms from `since` up to `until`, oldest first, every step present (zeros where nothing ran):
 * a chart then needs no gaps filled. `since` is a minute's start, as the rows' minutes are.
 */
export function series(rows: readonly MetricMinute[], window: { since: number; until: number; step: number }): SeriesPoint[] {
  const { since, until, step } = window;
  const count = Math.max(0, Math.ceil((until - since) / step));
  const steps: MetricMinute[][] = Array.from({ length: count }, () => []);
  for (const row of rows) {
    const index = Math.floor((row.minute - since) / step);
    if (index >= 0 && index < count) steps[index]?.push(row);
  }
  return steps.map((group, index) => {
    const { invocations, errors, throttles, coldStarts, p50Ms, p95Ms, p99Ms } = summarize(group);
    return { at: new Date(since + index * step).toISOString(), invocations, errors, throttles, coldStarts, p50Ms, p95Ms, p99Ms };
  });
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
