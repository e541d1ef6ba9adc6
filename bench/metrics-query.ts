// What a metrics question over the whole retention costs: 14 days of minute rows of 10 functions on all 4 triggers
// written straight into a store in a temp folder, merged into tiers as the server does, then every function's summary
// and series for since=14d timed, with the rows read and the process' RSS. `--no-compact` measures the rows as
// they were before tiers. Run alone: `node --import tsx bench/metrics-query.ts [--no-compact]`.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../server/store/sqlite.js';
import type { MetricMinute, Trigger } from '../server/store/metric-types.js';
import type { Store } from '../server/store/types.js';
import { functionsMetrics } from '../server/metrics/report.js';
import { compactTiers } from '../server/metrics/tiers.js';
import { parseWindow } from '../server/metrics/window.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const TRIGGERS: Trigger[] = ['http', 'direct', 'schedule', 'async'];

export interface MetricsQueryCost {
  functions: number;
  days: number;
  written: number;
  kept: number;
  compactMs: number;
  /** since=14d, no step: a summary per function. */
  summaryMs: number;
  /** since=14d, step=1h (14m before tiers, as the attack asked). */
  seriesMs: number;
  step: string;
  rowsRead: number;
  /** The process' RSS once the rows are written (and merged), and after both questions. */
  rssBeforeMb: number;
  rssAfterMb: number;
}

function fill(store: Store, functions: number, days: number, now: number): number {
  const current = now - (now % MINUTE);
  let written = 0;
  for (let day = days; day > 0; day--) {
    const rows: MetricMinute[] = [];
    for (let minute = current - day * DAY + MINUTE; minute <= current - (day - 1) * DAY; minute += MINUTE) {
      for (let f = 0; f < functions; f++) {
        for (const [t, trigger] of TRIGGERS.entries()) {
          rows.push({ fn: `fn-${f}`, version: 1, minute, trigger, invocations: 3, handlerErrors: t === 0 ? 1 : 0, timeouts: 0, crashes: 0, throttles: 0, coldStarts: 0, coldStartMs: 0, durationMs: 30, maxMemoryMb: 40, buckets: { 20: 1, 24: 1, [28 + t]: 1 } });
        }
      }
    }
    store.metrics.add(rows);
    written += rows.length;
  }
  return written;
}

export function measureMetricsQueries(options: { functions?: number; days?: number; compact?: boolean } = {}): MetricsQueryCost {
  const { functions = 10, days = 14, compact = true } = options;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lambda-bench-metrics-'));
  const store = openStore(path.join(dir, 'lambda.db'));
  try {
    const now = Date.now();
    for (let f = 0; f < functions; f++) store.functions.ensure(`fn-${f}`);
    const written = fill(store, functions, days, now);
    const compactStart = performance.now();
    if (compact) compactTiers(store.metrics, now);
    const compactMs = performance.now() - compactStart;
    const rssBeforeMb = process.memoryUsage().rss / 2 ** 20;
    let rowsRead = 0;
    const counted = { functions: store.functions, metrics: { ...store.metrics, list: (filter: Parameters<Store['metrics']['list']>[0]) => store.metrics.list(filter).map((row) => (rowsRead++, row)) } };
    // Before tiers a window started on its first whole minute and took any step of whole minutes.
    const step = compact ? '1h' : '14m';
    const window = compact ? parseWindow({ since: `${days}d`, step }, now) : { since: Math.ceil((now - days * DAY) / MINUTE) * MINUTE, until: now, step: 14 * MINUTE };
    let start = performance.now();
    functionsMetrics(counted, { since: window.since, until: window.until });
    const summaryMs = performance.now() - start;
    const summaryRows = rowsRead;
    start = performance.now();
    functionsMetrics(counted, window);
    const seriesMs = performance.now() - start;
    return { functions, days, written, kept: store.metrics.list({ since: 0 }).length, compactMs, summaryMs, seriesMs, step, rowsRead: summaryRows, rssBeforeMb, rssAfterMb: process.memoryUsage().rss / 2 ** 20 };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function describeMetricsQueries(cost: MetricsQueryCost): string {
  return `${cost.rowsRead} rows read of ${cost.written} written; summary ${cost.summaryMs.toFixed(0)} ms, series (step ${cost.step}) ${cost.seriesMs.toFixed(0)} ms`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const cost = measureMetricsQueries({ compact: !process.argv.includes('--no-compact') });
  console.log(JSON.stringify({ ...cost, line: describeMetricsQueries(cost) }, null, 2));
}
