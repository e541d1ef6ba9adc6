// What the metrics API answers: every function's summary over a window, or one function's with its versions, read once from the store.
import type { Store } from '../store/types.js';
import { groupBy, series, summarize, type SeriesPoint } from './summary.js';
import type { MetricMinute, MetricsSummary } from './types.js';
import type { MetricsWindow } from './window.js';

type Reads = Pick<Store, 'functions' | 'metrics'>;

/** Rows not in the store yet (the recorder's current minute), merged into what the store holds. */
export type PendingRows = () => readonly MetricMinute[];

export interface WindowFields {
  since: string;
  until: string;
  /** The step as "5m", or null without a series. */
  step: string | null;
}

export type FunctionMetrics = { name: string; liveVersion: number | null } & MetricsSummary & { series?: SeriesPoint[] };
export type VersionMetrics = { version: number; live: boolean } & MetricsSummary;

/** GET /api/v1/metrics: every function that exists, with zeros and null percentiles where nothing ran. */
export function functionsMetrics(store: Reads, window: MetricsWindow, pending?: PendingRows): WindowFields & { functions: FunctionMetrics[] } {
  const byFunction = groupBy(rowsOf(store, window, undefined, pending), (row) => row.fn);
  const functions = store.functions.list().map((fn) => withSeries({ name: fn.name, liveVersion: fn.liveVersion, ...summarize(byFunction.get(fn.name) ?? []) }, byFunction.get(fn.name) ?? [], window));
  return { ...fields(window), functions };
}

/**
 * GET /api/v1/functions/:name/metrics: the function's total and one entry per version that ran in the window or is
 * live, newest first. Undefined when there is no such function.
 */
export function functionMetrics(store: Reads, name: string, window: MetricsWindow, pending?: PendingRows): (WindowFields & FunctionMetrics & { versions: VersionMetrics[] }) | undefined {
  const fn = store.functions.get(name);
  if (!fn) return undefined;
  const rows = rowsOf(store, window, name, pending);
  const byVersion = groupBy(rows, (row) => row.version);
  if (fn.liveVersion !== null && !byVersion.has(fn.liveVersion)) byVersion.set(fn.liveVersion, []);
  const versions = [...byVersion.entries()]
    .sort((a, b) => b[0] - a[0])
    .map(([version, group]) => ({ version, live: version === fn.liveVersion, ...summarize(group) }));
  return { ...fields(window), ...withSeries({ name, liveVersion: fn.liveVersion, ...summarize(rows) }, rows, window), versions };
}

function rowsOf(store: Reads, window: MetricsWindow, fn: string | undefined, pending?: PendingRows): MetricMinute[] {
  const rows = store.metrics.list({ since: window.since, until: window.until, ...(fn === undefined ? {} : { fn }) });
  if (!pending) return rows;
  const fresh = pending().filter((row) => row.minute >= window.since && row.minute < window.until && (fn === undefined || row.fn === fn));
  return [...rows, ...fresh];
}

function withSeries<T extends object>(summary: T, rows: readonly MetricMinute[], window: MetricsWindow): T & { series?: SeriesPoint[] } {
  return window.step === undefined ? summary : { ...summary, series: series(rows, { since: window.since, until: window.until, step: window.step }) };
}

function fields(window: MetricsWindow): WindowFields {
  return { since: new Date(window.since).toISOString(), until: new Date(window.until).toISOString(), step: window.step === undefined ? null : showStep(window.step) };
}

function showStep(ms: number): string {
  const minutes = ms / 60_000;
  return minutes % 60 === 0 ? `${minutes / 60}h` : `${minutes}m`;
}
