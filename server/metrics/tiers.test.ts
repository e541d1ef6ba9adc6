// The tiers of metrics rows: what compaction leaves at each age, what a window may ask, and how many rows a 14-day
// question reads.
import test from 'ava';
import { openStore } from '../store/sqlite.js';
import type { MetricMinute, Trigger } from '../store/metric-types.js';
import type { Store } from '../store/types.js';
import { functionsMetrics } from './report.js';
import { compactTiers, tierEnd, TIERS, widthAt } from './tiers.js';
import { parseWindow } from './window.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NOW = Date.parse('2026-12-01T10:30:20Z');
const TRIGGERS: Trigger[] = ['http', 'direct', 'schedule', 'async'];

const row = (minute: number, trigger: Trigger, fn = 'greet'): MetricMinute => ({
  fn,
  version: 1,
  minute,
  trigger,
  invocations: 2,
  handlerErrors: 1,
  timeouts: 0,
  crashes: 0,
  throttles: 0,
  coldStarts: 0,
  coldStartMs: 0,
  durationMs: 9,
  maxMemoryMb: 40,
  buckets: { 12: 1, 20: 1 },
});

/** Minute rows of `greet` on every trigger from `days` ago up to the minute under way. */
function filled(days: number): { store: Store; rows: number } {
  const store = openStore(':memory:');
  store.functions.ensure('greet');
  const rows: MetricMinute[] = [];
  const current = NOW - (NOW % MINUTE);
  for (let minute = current - days * DAY; minute <= current; minute += MINUTE) for (const trigger of TRIGGERS) rows.push(row(minute, trigger));
  store.metrics.add(rows);
  return { store, rows: rows.length };
}

test('the tiers: 1m rows up to 2h back, 15m rows up to 2 days, 1h rows beyond', (t) => {
  t.deepEqual(TIERS.map((tier) => [tier.width / MINUTE, tier.after / HOUR]), [[15, 2], [60, 48]]);
  t.is(tierEnd(TIERS[0]!, NOW), Date.parse('2026-12-01T08:30:00Z'));
  t.is(tierEnd(TIERS[1]!, NOW), Date.parse('2026-11-29T10:00:00Z'));
  t.is(widthAt(Date.parse('2026-12-01T08:30:00Z'), NOW), MINUTE);
  t.is(widthAt(Date.parse('2026-12-01T08:29:00Z'), NOW), 15 * MINUTE);
  t.is(widthAt(Date.parse('2026-11-29T10:00:00Z'), NOW), 15 * MINUTE);
  t.is(widthAt(Date.parse('2026-11-29T09:59:00Z'), NOW), HOUR);
});

test('compaction leaves each age at its width, keeps every count, and a second run changes nothing', (t) => {
  const { store } = filled(3);
  const before = store.metrics.totals(0);
  const current = NOW - (NOW % MINUTE);
  t.true(compactTiers(store.metrics, NOW) > 0);
  const rows = store.metrics.list({ since: 0 });
  const fine = tierEnd(TIERS[0]!, NOW);
  const coarse = tierEnd(TIERS[1]!, NOW);
  t.true(rows.every((r) => (r.minute >= fine ? r.width === MINUTE : r.minute >= coarse ? r.width === 15 * MINUTE : r.width === HOUR)));
  t.true(rows.every((r) => r.minute % (r.width ?? MINUTE) === 0));
  t.is(rows.filter((r) => r.minute >= fine).length, 4 * ((current - fine) / MINUTE + 1), 'the recent minutes, the one under way included, are untouched');
  t.is(rows.filter((r) => r.minute < coarse && r.minute >= coarse - HOUR).length, 4);
  t.deepEqual(store.metrics.totals(0), before);

  t.is(compactTiers(store.metrics, NOW), 0);
  t.deepEqual(store.metrics.list({ since: 0 }), rows);
  // An hour later the next hour of each finer tier moves down one tier.
  t.true(compactTiers(store.metrics, NOW + HOUR) > 0);
  t.deepEqual(store.metrics.totals(0), before);
});

test('a 14-day question reads a bounded number of rows, and its counts are all there', (t) => {
  const { store, rows } = filled(14);
  compactTiers(store.metrics, NOW);
  let read = 0;
  const counted: Pick<Store, 'functions' | 'metrics'> = {
    functions: store.functions,
    metrics: { ...store.metrics, list: (filter) => store.metrics.list(filter).map((r) => (read++, r)) },
  };
  const window = parseWindow({ since: '14d', step: '1h' }, NOW);
  const answer = functionsMetrics(counted, window);
  // Per trigger: 2h of minutes (and the hour compaction may lag), 2 days of quarters, 12 days of hours.
  const bound = 4 * (3 * 60 + 2 * 24 * 4 + 12 * 24);
  t.true(read <= bound, `${read} rows read, at most ${bound}`);
  t.true(read < rows / 20, `${read} of ${rows} rows`);
  const inWindow = store.metrics.totals(window.since).reduce((sum, r) => sum + r.invocations, 0);
  t.is(answer.functions[0]?.invocations, inWindow);
  t.is(answer.functions[0]?.series?.reduce((sum, point) => sum + point.invocations, 0), inWindow);

  read = 0;
  functionsMetrics(counted, parseWindow({ since: '14d' }, NOW));
  t.true(read <= bound, `a summary reads ${read}`);
});
