// SQL for invocation metrics rows: merged by key, read by window, pruned by age (compacted in metric-compact.ts).
import type Database from 'better-sqlite3';
import type { Buckets, MetricMinute, MetricQueries, MetricTotals } from './metric-types.js';
import { compactMetrics } from './metric-compact.js';

export interface MetricRow {
  function: string;
  version: number;
  minute: number;
  width: number;
  trigger: MetricMinute['trigger'];
  invocations: number;
  handler_errors: number;
  timeouts: number;
  crashes: number;
  throttles: number;
  cold_starts: number;
  cold_start_ms: number;
  duration_ms: number;
  max_memory_mb: number;
  buckets: string;
}

export const toMinute = (row: MetricRow): MetricMinute => ({
  fn: row.function,
  version: row.version,
  minute: row.minute,
  width: row.width,
  trigger: row.trigger,
  invocations: row.invocations,
  handlerErrors: row.handler_errors,
  timeouts: row.timeouts,
  crashes: row.crashes,
  throttles: row.throttles,
  coldStarts: row.cold_starts,
  coldStartMs: row.cold_start_ms,
  durationMs: row.duration_ms,
  maxMemoryMb: row.max_memory_mb,
  buckets: JSON.parse(row.buckets) as Buckets,
});

export function metricQueries(db: Database.Database): MetricQueries {
  const key = 'function = @fn AND version = @version AND minute = @minute AND trigger = @trigger';
  const get = db.prepare<Pick<MetricMinute, 'fn' | 'version' | 'minute' | 'trigger'>, { buckets: string }>(`SELECT buckets FROM metric_minutes WHERE ${key}`);
  const upsert = db.prepare(`
    INSERT INTO metric_minutes (function, version, minute, trigger, invocations, handler_errors, timeouts, crashes, throttles, cold_starts, cold_start_ms, duration_ms, max_memory_mb, buckets)
    VALUES (@fn, @version, @minute, @trigger, @invocations, @handlerErrors, @timeouts, @crashes, @throttles, @coldStarts, @coldStartMs, @durationMs, @maxMemoryMb, @buckets)
    ON CONFLICT (function, version, minute, trigger) DO UPDATE SET
      invocations = invocations + excluded.invocations, handler_errors = handler_errors + excluded.handler_errors,
      timeouts = timeouts + excluded.timeouts, crashes = crashes + excluded.crashes, throttles = throttles + excluded.throttles,
      cold_starts = cold_starts + excluded.cold_starts, cold_start_ms = cold_start_ms + excluded.cold_start_ms,
      duration_ms = duration_ms + excluded.duration_ms, max_memory_mb = MAX(max_memory_mb, excluded.max_memory_mb),
      buckets = excluded.buckets`);
  const listAll = db.prepare<[number, number], MetricRow>('SELECT * FROM metric_minutes WHERE minute >= ? AND minute < ? ORDER BY minute, function, version, trigger');
  const listOne = db.prepare<[string, number, number], MetricRow>('SELECT * FROM metric_minutes WHERE function = ? AND minute >= ? AND minute < ? ORDER BY minute, version, trigger');
  const prune = db.prepare<[number]>('DELETE FROM metric_minutes WHERE minute < ?');
  const totals = db.prepare<[number], MetricTotals>(`
    SELECT function AS fn, version, trigger, SUM(invocations) AS invocations, SUM(handler_errors) AS handlerErrors, SUM(timeouts) AS timeouts,
      SUM(crashes) AS crashes, SUM(throttles) AS throttles, SUM(cold_starts) AS coldStarts, SUM(cold_start_ms) AS coldStartMs,
      SUM(duration_ms) AS durationMs, MAX(max_memory_mb) AS maxMemoryMb
    FROM metric_minutes WHERE minute >= ? GROUP BY function, version, trigger ORDER BY function, version, trigger`);
  const dropFunction = db.prepare<[string]>('DELETE FROM metric_minutes WHERE function = ?');

  const add = db.transaction((rows: MetricMinute[]) => {
    for (const row of rows) {
      // The histogram merges in JS: the stored row's buckets plus this row's.
      const stored = get.get(row);
      const buckets = stored ? (JSON.parse(stored.buckets) as Buckets) : {};
      for (const [index, count] of Object.entries(row.buckets)) buckets[Number(index)] = (buckets[Number(index)] ?? 0) + count;
      upsert.run({ ...row, buckets: JSON.stringify(buckets) });
    }
  });

  return {
    add: (rows) => add(rows),
    list: ({ since, until = Number.MAX_SAFE_INTEGER, fn }) => (fn === undefined ? listAll.all(since, until) : listOne.all(fn, since, until)).map(toMinute),
    totals: (since) => totals.all(since),
    compact: compactMetrics(db),
    prune: (before) => prune.run(before).changes,
    dropFunction: (fn) => void dropFunction.run(fn),
  };
}
