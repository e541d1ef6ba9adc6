// The per-minute rollups: the current minutes' rows kept in memory, added to SQLite every few seconds and at shutdown
// (a restart loses at most those seconds), merged into wider rows as they age, pruned past the retention, dropped
// with their function.
import { bucketOf } from './buckets.js';
import { compactTiers } from './tiers.js';
import { NO_METRICS, type InvocationSample, type MetricMinute, type Metrics, type Trigger } from './types.js';
import type { MetricQueries } from '../store/metric-types.js';

/** How often the rows in memory are added to SQLite: what a crash (not a clean stop) may lose. */
export const FLUSH_EVERY_MS = 5_000;
/** How often rows past the retention are deleted and older rows merged into wider ones (and once at start). */
export const PRUNE_EVERY_MS = 60 * 60_000;
const MINUTE_MS = 60_000;

export interface Rollup extends Metrics {
  /** The rows not yet in SQLite (the minutes under way), copies: a reader may add them to what it read. */
  pending(): MetricMinute[];
  /** Adds the rows in memory to SQLite. Never throws: rows that could not be written are kept for the next flush. */
  flush(): void;
  /** Deletes rows older than the retention, then merges older rows into wider ones (tiers.ts); returns how many were deleted. */
  prune(): number;
  /** Prunes now, then flushes and prunes on their timers. */
  start(): void;
  /** Stops the timers and flushes what is left (the server's clean stop). */
  close(): void;
}

export interface RollupOptions {
  retentionMs: number;
  flushEveryMs?: number;
  pruneEveryMs?: number;
  now?: () => number;
  warn?: (line: string) => void;
}

const emptyRow = (fn: string, version: number, minute: number, trigger: Trigger): MetricMinute => ({
  fn,
  version,
  minute,
  trigger,
  invocations: 0,
  handlerErrors: 0,
  timeouts: 0,
  crashes: 0,
  throttles: 0,
  coldStarts: 0,
  coldStartMs: 0,
  durationMs: 0,
  maxMemoryMb: 0,
  buckets: {},
});

/** Adds `from`'s counts to `into` (rows of the same key), as SQLite's upsert does. */
function merge(into: MetricMinute, from: MetricMinute): void {
  into.invocations += from.invocations;
  into.handlerErrors += from.handlerErrors;
  into.timeouts += from.timeouts;
  into.crashes += from.crashes;
  into.throttles += from.throttles;
  into.coldStarts += from.coldStarts;
  into.coldStartMs += from.coldStartMs;
  into.durationMs += from.durationMs;
  into.maxMemoryMb = Math.max(into.maxMemoryMb, from.maxMemoryMb);
  for (const [index, count] of Object.entries(from.buckets)) into.buckets[Number(index)] = (into.buckets[Number(index)] ?? 0) + count;
}

export function createRollup(store: Pick<MetricQueries, 'add' | 'prune' | 'compact' | 'dropFunction'>, options: RollupOptions): Rollup {
  const now = options.now ?? Date.now;
  let rows = new Map<string, MetricMinute>();
  /** The trigger of each function version's latest invocation: where a REPORT's memory figure, which names none, goes. */
  const lastTrigger = new Map<string, Trigger>();
  const timers: NodeJS.Timeout[] = [];

  const rowOf = (fn: string, version: number, at: number, trigger: Trigger): MetricMinute => {
    const minute = at - (at % MINUTE_MS);
    const key = `${fn}\0${version}\0${minute}\0${trigger}`;
    let row = rows.get(key);
    if (!row) {
      row = emptyRow(fn, version, minute, trigger);
      rows.set(key, row);
    }
    return row;
  };

  const invocation = (sample: InvocationSample): void => {
    const row = rowOf(sample.fn, sample.version, sample.at, sample.trigger);
    row.invocations += 1;
    if (sample.error === 'handler') row.handlerErrors += 1;
    else if (sample.error === 'timeout') row.timeouts += 1;
    else if (sample.error === 'crash') row.crashes += 1;
    if (sample.coldStartMs !== undefined) {
      row.coldStarts += 1;
      row.coldStartMs += sample.coldStartMs;
    }
    row.durationMs += sample.durationMs;
    const bucket = bucketOf(sample.durationMs);
    row.buckets[bucket] = (row.buckets[bucket] ?? 0) + 1;
    if (sample.maxMemoryMb !== undefined) row.maxMemoryMb = Math.max(row.maxMemoryMb, sample.maxMemoryMb);
    lastTrigger.set(`${sample.fn}\0${sample.version}`, sample.trigger);
  };

  const flush = (): void => {
    if (rows.size === 0) return;
    const batch = rows;
    rows = new Map();
    try {
      store.add([...batch.values()]);
    } catch (error) {
      // A busy or full disk: the rows wait for the next flush, merged with what came since.
      for (const [key, row] of batch) {
        const later = rows.get(key);
        if (later) merge(row, later);
        rows.set(key, row);
      }
      options.warn?.(`could not write metrics rows: ${(error as Error).message}; trying again in a few seconds`);
    }
  };

  const prune = (): number => {
    let deleted = 0;
    try {
      deleted = store.prune(now() - options.retentionMs);
      compactTiers(store, now());
    } catch (error) {
      options.warn?.(`could not prune metrics rows: ${(error as Error).message}`);
    }
    return deleted;
  };

  return {
    ...NO_METRICS,
    invocation,
    throttle(fn, version, trigger, at = now()) {
      rowOf(fn, version, at, trigger).throttles += 1;
    },
    memory(fn, version, maxMemoryMb) {
      const row = rowOf(fn, version, now(), lastTrigger.get(`${fn}\0${version}`) ?? 'http');
      row.maxMemoryMb = Math.max(row.maxMemoryMb, maxMemoryMb);
    },
    functionDeleted(fn) {
      for (const [key, row] of rows) if (row.fn === fn) rows.delete(key);
      for (const key of lastTrigger.keys()) if (key.startsWith(`${fn}\0`)) lastTrigger.delete(key);
      try {
        store.dropFunction(fn);
      } catch (error) {
        // Left for the retention to prune: the function is gone either way.
        options.warn?.(`could not delete the metrics rows of ${fn}: ${(error as Error).message}`);
      }
    },
    pending: () => [...rows.values()].map((row) => ({ ...row, buckets: { ...row.buckets } })),
    flush,
    prune,
    start() {
      prune();
      const flushing = setInterval(flush, options.flushEveryMs ?? FLUSH_EVERY_MS);
      const pruning = setInterval(prune, options.pruneEveryMs ?? PRUNE_EVERY_MS);
      for (const timer of [flushing, pruning]) {
        timer.unref();
        timers.push(timer);
      }
    },
    close() {
      for (const timer of timers.splice(0)) clearInterval(timer);
      flush();
    },
  };
}

/** One Metrics that tells each of `parts` in turn (the rollups and Prometheus' series). */
export function fanOut(...parts: Metrics[]): Metrics {
  return {
    invocation: (sample) => parts.forEach((part) => part.invocation(sample)),
    throttle: (fn, version, trigger, at) => parts.forEach((part) => part.throttle(fn, version, trigger, at)),
    memory: (fn, version, mb) => parts.forEach((part) => part.memory(fn, version, mb)),
    build: (fn, ms, outcome) => parts.forEach((part) => part.build(fn, ms, outcome)),
    scheduleFiring: (fn, outcome, count) => parts.forEach((part) => part.scheduleFiring(fn, outcome, count)),
    functionDeleted: (fn) => parts.forEach((part) => part.functionDeleted(fn)),
    versionsPruned: (fn, versions) => parts.forEach((part) => part.versionsPruned(fn, versions)),
  };
}
