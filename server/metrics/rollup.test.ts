// The per-minute rollups: rows per function, version, minute and trigger, written to SQLite on flush (and kept when
// that fails), pruned past the retention, dropped with their function.
import test from 'ava';
import { openStore } from '../store/sqlite.js';
import { bucketOf } from './buckets.js';
import { createRollup } from './rollup.js';
import type { MetricQueries } from '../store/metric-types.js';

const MINUTE = 60_000;

test('invocations, errors, cold starts, throttles and memory land in the row of their minute and trigger', (t) => {
  const store = openStore(':memory:');
  let now = 10 * MINUTE + 5_000;
  const rollup = createRollup(store.metrics, { retentionMs: 14 * 24 * 60 * MINUTE, now: () => now });
  rollup.invocation({ fn: 'greet', version: 2, trigger: 'http', at: now, durationMs: 3, coldStartMs: 120 });
  rollup.invocation({ fn: 'greet', version: 2, trigger: 'http', at: now + 1_000, durationMs: 700, error: 'timeout' });
  rollup.invocation({ fn: 'greet', version: 2, trigger: 'async', at: now, durationMs: 10, error: 'handler' });
  rollup.invocation({ fn: 'greet', version: 2, trigger: 'async', at: now, durationMs: 12, error: 'crash' });
  rollup.throttle('greet', 2, 'http', now);
  // The REPORT names no trigger: its figure goes with the version's latest invocation (async here).
  rollup.memory('greet', 2, 48);
  now += MINUTE;
  rollup.invocation({ fn: 'greet', version: 2, trigger: 'http', at: now, durationMs: 1 });
  t.is(store.metrics.list({ since: 0 }).length, 0, 'nothing is written before a flush');
  t.is(rollup.pending().length, 3);
  rollup.flush();
  t.deepEqual(rollup.pending(), []);
  const rows = store.metrics.list({ since: 0 });
  t.deepEqual(
    rows.map((row) => [row.minute, row.trigger, row.invocations, row.handlerErrors, row.timeouts, row.crashes, row.throttles, row.coldStarts, row.coldStartMs, row.durationMs, row.maxMemoryMb]),
    [
      [10 * MINUTE, 'async', 2, 1, 0, 1, 0, 0, 0, 22, 48],
      [10 * MINUTE, 'http', 2, 0, 1, 0, 1, 1, 120, 703, 0],
      [11 * MINUTE, 'http', 1, 0, 0, 0, 0, 0, 0, 1, 0],
    ],
  );
  t.deepEqual(rows[1]?.buckets, { [bucketOf(3)]: 1, [bucketOf(700)]: 1 });
  // A second flush of the same minute adds to the stored row.
  rollup.invocation({ fn: 'greet', version: 2, trigger: 'http', at: now, durationMs: 1 });
  rollup.flush();
  t.is(store.metrics.list({ since: 11 * MINUTE })[0]?.invocations, 2);
});

test('rows that could not be written wait for the next flush, merged with what came since', (t) => {
  const store = openStore(':memory:');
  let failing = true;
  const flaky: Pick<MetricQueries, 'add' | 'prune' | 'compact' | 'dropFunction'> = {
    add: (rows) => {
      if (failing) throw new Error('database is locked');
      store.metrics.add(rows);
    },
    prune: (before) => store.metrics.prune(before),
    compact: (width, from, before) => store.metrics.compact(width, from, before),
    dropFunction: (fn) => store.metrics.dropFunction(fn),
  };
  const warnings: string[] = [];
  const rollup = createRollup(flaky, { retentionMs: MINUTE * 60, now: () => MINUTE, warn: (line) => warnings.push(line) });
  rollup.invocation({ fn: 'greet', version: 1, trigger: 'direct', at: MINUTE, durationMs: 5 });
  rollup.flush();
  t.is(warnings.length, 1);
  rollup.invocation({ fn: 'greet', version: 1, trigger: 'direct', at: MINUTE, durationMs: 5 });
  failing = false;
  rollup.flush();
  t.like(store.metrics.list({ since: 0 })[0], { invocations: 2, durationMs: 10, buckets: { [bucketOf(5)]: 2 } });
});

test('close writes what is left; rows past the retention are pruned and older ones merged at start; a deleted function loses its rows', (t) => {
  const store = openStore(':memory:');
  const day = 24 * 60 * MINUTE;
  const now = 30 * day;
  store.metrics.add([
    { fn: 'old', version: 1, minute: now - 15 * day, trigger: 'http', invocations: 1, handlerErrors: 0, timeouts: 0, crashes: 0, throttles: 0, coldStarts: 0, coldStartMs: 0, durationMs: 1, maxMemoryMb: 0, buckets: {} },
    { fn: 'kept', version: 1, minute: now - 13 * day, trigger: 'http', invocations: 1, handlerErrors: 0, timeouts: 0, crashes: 0, throttles: 0, coldStarts: 0, coldStartMs: 0, durationMs: 1, maxMemoryMb: 0, buckets: {} },
  ]);
  const rollup = createRollup(store.metrics, { retentionMs: 14 * day, now: () => now });
  rollup.start();
  t.deepEqual(store.metrics.list({ since: 0 }).map((row) => [row.fn, row.width]), [['kept', 60 * MINUTE]], 'an old minute is merged into an hour at start');
  rollup.invocation({ fn: 'doomed', version: 1, trigger: 'http', at: now, durationMs: 1 });
  rollup.invocation({ fn: 'kept', version: 1, trigger: 'schedule', at: now, durationMs: 1 });
  rollup.flush();
  rollup.invocation({ fn: 'doomed', version: 1, trigger: 'http', at: now, durationMs: 1 });
  rollup.functionDeleted('doomed');
  rollup.close();
  t.deepEqual(store.metrics.list({ since: 0 }).map((row) => [row.fn, row.trigger]), [['kept', 'http'], ['kept', 'schedule']]);
});
