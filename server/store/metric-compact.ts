// SQL that merges metrics rows into wider ones (older time kept coarser), exactly and in bounded transactions.
import type Database from 'better-sqlite3';
import type { Buckets, MetricQueries } from './metric-types.js';
import type { MetricRow } from './metrics.js';

/** Rows are merged a day at a time: a first compaction of many days of minute rows holds one day in memory at once. */
const CHUNK_MS = 24 * 60 * 60_000;

type Key = Pick<MetricRow, 'function' | 'version' | 'minute' | 'trigger'>;

export function compactMetrics(db: Database.Database): MetricQueries['compact'] {
  const narrow = 'minute >= ? AND minute < ? AND width < ?';
  const first = db.prepare<[number, number, number], { minute: number | null }>(`SELECT MIN(minute) AS minute FROM metric_minutes WHERE ${narrow}`);
  const select = db.prepare<[number, number, number], MetricRow>(`SELECT * FROM metric_minutes WHERE ${narrow} ORDER BY function, version, trigger, minute`);
  const remove = db.prepare<[number, number, number]>(`DELETE FROM metric_minutes WHERE ${narrow}`);
  const key = 'function = @function AND version = @version AND minute = @minute AND trigger = @trigger';
  const existing = db.prepare<Key, MetricRow>(`SELECT * FROM metric_minutes WHERE ${key}`);
  const removeOne = db.prepare<Key>(`DELETE FROM metric_minutes WHERE ${key}`);
  const insert = db.prepare(`
    INSERT INTO metric_minutes (function, version, minute, width, trigger, invocations, handler_errors, timeouts, crashes, throttles, cold_starts, cold_start_ms, duration_ms, max_memory_mb, buckets)
    VALUES (@function, @version, @minute, @width, @trigger, @invocations, @handler_errors, @timeouts, @crashes, @throttles, @cold_starts, @cold_start_ms, @duration_ms, @max_memory_mb, @buckets)`);

  const chunk = db.transaction((width: number, from: number, before: number): number => {
    const rows = select.all(from, before, width);
    const merged = new Map<string, MetricRow & { histogram: Buckets }>();
    for (const row of rows) {
      const start = row.minute - (row.minute % width);
      const id = `${row.function}\0${row.version}\0${row.trigger}\0${start}`;
      const into = merged.get(id);
      if (into) add(into, row);
      else merged.set(id, { ...row, minute: start, width, histogram: JSON.parse(row.buckets) as Buckets });
    }
    // Every narrow row goes before any merged row is written, so no merged row meets a key still taken.
    remove.run(from, before, width);
    let gone = rows.length - merged.size;
    for (const row of merged.values()) {
      // A row at least as wide may already start there (an earlier compaction, then a late minute): it takes them in.
      const wider = existing.get(row);
      if (wider) {
        add(row, wider);
        row.width = Math.max(width, wider.width);
        removeOne.run(row);
        gone += 1;
      }
      const { histogram, ...columns } = row;
      insert.run({ ...columns, buckets: JSON.stringify(histogram) });
    }
    return gone;
  });

  return (width, from, before) => {
    let gone = 0;
    let at = first.get(from, before, width)?.minute ?? null;
    while (at !== null) {
      const start = Math.max(from, at - (at % width));
      const end = Math.min(before, start - (start % CHUNK_MS) + CHUNK_MS);
      gone += chunk(width, start, end);
      at = first.get(end, before, width)?.minute ?? null;
    }
    return gone;
  };
}

/** Adds `from`'s counts to `into` (the same function version and trigger): sums add, memory keeps the most. */
function add(into: MetricRow & { histogram: Buckets }, from: MetricRow): void {
  into.invocations += from.invocations;
  into.handler_errors += from.handler_errors;
  into.timeouts += from.timeouts;
  into.crashes += from.crashes;
  into.throttles += from.throttles;
  into.cold_starts += from.cold_starts;
  into.cold_start_ms += from.cold_start_ms;
  into.duration_ms += from.duration_ms;
  into.max_memory_mb = Math.max(into.max_memory_mb, from.max_memory_mb);
  for (const [index, count] of Object.entries(JSON.parse(from.buckets) as Buckets)) into.histogram[Number(index)] = (into.histogram[Number(index)] ?? 0) + count;
}
