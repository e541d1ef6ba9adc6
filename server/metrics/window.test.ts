import test from 'ava';
import { LambdaError } from '../errors.js';
import { DEFAULT_METRICS_RETENTION_MS, parseWindow } from './window.js';

const MINUTE = 60_000;
const NOW = Date.parse('2026-12-01T10:30:20Z');

test('default: the last hour, from its first whole minute, no step', (t) => {
  t.deepEqual(parseWindow({}, NOW), { since: Date.parse('2026-12-01T09:31:00Z'), until: NOW });
});

test('since as 15m, 24h and 7d; until and since as times; step in whole minutes', (t) => {
  t.is(parseWindow({ since: '15m' }, NOW).since, Date.parse('2026-12-01T10:16:00Z'));
  t.is(parseWindow({ since: '2h' }, NOW).since, Date.parse('2026-12-01T08:31:00Z'));
  t.deepEqual(parseWindow({ since: '2026-12-01T10:00:00Z', until: '2026-12-01T10:10:00Z', step: '5m' }, NOW), {
    since: Date.parse('2026-12-01T10:00:00Z'),
    until: Date.parse('2026-12-01T10:10:00Z'),
    step: 5 * MINUTE,
  });
  t.is(parseWindow({ since: '1h', until: '2026-12-01T10:00:00Z' }, NOW).since, Date.parse('2026-12-01T09:00:00Z'));
  t.is(parseWindow({ since: '14d', step: '1h' }, NOW).step, 60 * MINUTE);
  t.is(parseWindow({ since: '90m', step: '1m' }, NOW).step, MINUTE);
});

test('a window reaching older rows starts on the first whole one of the widest it reaches', (t) => {
  // At 10:30:20, rows before 08:30 may be per 15 minutes and rows before 10:00 two days back per hour.
  t.is(parseWindow({ since: '24h' }, NOW).since, Date.parse('2026-11-30T10:45:00Z'));
  t.is(parseWindow({ since: '7d' }, NOW).since, Date.parse('2026-11-24T11:00:00Z'));
  t.is(parseWindow({ since: '2026-12-01T08:29:10Z' }, NOW).since, Date.parse('2026-12-01T08:30:00Z'));
  t.is(parseWindow({ since: '2026-12-01T08:30:10Z' }, NOW).since, Date.parse('2026-12-01T08:31:00Z'));
  t.is(parseWindow({ since: '2026-11-29T09:59:00Z' }, NOW).since, Date.parse('2026-11-29T10:00:00Z'));
  t.is(parseWindow({ since: '2026-11-29T09:40:00Z' }, NOW).since, Date.parse('2026-11-29T10:00:00Z'));
  t.is(parseWindow({ since: '2026-11-29T10:01:00Z' }, NOW).since, Date.parse('2026-11-29T10:15:00Z'));
});

test("the dashboard's windows are accepted", (t) => {
  t.is(parseWindow({ since: '1h', step: '1m' }, NOW).step, MINUTE);
  t.is(parseWindow({ since: '1h', step: '5m' }, NOW).step, 5 * MINUTE);
  t.is(parseWindow({ since: '24h', step: '15m' }, NOW).step, 15 * MINUTE);
  t.is(parseWindow({ since: '7d', step: '2h' }, NOW).step, 120 * MINUTE);
});

test('a step finer than the rows it would split is refused, naming the least step', (t) => {
  t.regex(t.throws(() => parseWindow({ since: '3h', step: '1m' }, NOW))?.message ?? '', /multiple of 15m \(rows older than 2h are per 15m\): a step of at least 15m for since=3h/);
  t.regex(t.throws(() => parseWindow({ since: '24h', step: '20m' }, NOW))?.message ?? '', /multiple of 15m .*at least 15m/);
  t.regex(t.throws(() => parseWindow({ since: '3d', step: '15m' }, NOW))?.message ?? '', /multiple of 1h \(rows older than 2d are per 1h\): a step of at least 1h for since=3d/);
  t.regex(t.throws(() => parseWindow({ since: '14d', step: '90m' }, NOW))?.message ?? '', /multiple of 1h/);
  t.is(parseWindow({ since: '14d' }, NOW).step, undefined, 'a summary takes any window');
});

test('a window inside one wide row holds no row', (t) => {
  const window = parseWindow({ since: '2026-11-20T10:10:00Z', until: '2026-11-20T10:50:00Z' }, NOW);
  t.true(window.since >= window.until);
  t.is(window.since, Date.parse('2026-11-20T11:00:00Z'));
});

const refused = test.macro({
  exec(t, query: Parameters<typeof parseWindow>[0], parameter: string, retention?: number) {
    const error = t.throws(() => parseWindow(query, NOW, retention));
    t.true(error instanceof LambdaError);
    t.is((error as LambdaError).code, 'LAMBDA_ERR_BAD_REQUEST');
    t.true(error?.message.startsWith(`${parameter}: expected `), error?.message);
  },
  title: (given = '', query) => `refused: ${given || JSON.stringify(query)}`,
});

test(refused, { since: 'yesterday' }, 'since');
test(refused, { since: '1' }, 'since');
test(refused, { since: '-1h' }, 'since');
test(refused, { since: '30s' }, 'since');
test(refused, { since: '15d' }, 'since');
test('beyond a shorter retention', refused, { since: '3h' }, 'since', 2 * 60 * MINUTE);
test('a time before the retention', refused, { since: '2026-01-01T00:00:00Z' }, 'since');
test('since after until', refused, { since: '2026-12-01T10:20:00Z', until: '2026-12-01T10:10:00Z' }, 'since');
test(refused, { until: 'now' }, 'until');
test(refused, { step: '30s' }, 'step');
test(refused, { step: '90s' }, 'step');
test(refused, { step: '0m' }, 'step');
test(refused, { step: 'often' }, 'step');
test('more than 1440 points', refused, { since: '2026-12-01T09:00:00Z', until: '2026-12-03T10:00:00Z', step: '1m' }, 'step');

test('the message says the smallest step that fits and the retention', (t) => {
  t.regex(t.throws(() => parseWindow({ since: '7d', step: '5m' }, NOW))?.message ?? '', /at least 1h for since=7d/);
  t.regex(t.throws(() => parseWindow({ since: '20d' }, NOW))?.message ?? '', /from 1m to 14d/);
  t.is(DEFAULT_METRICS_RETENTION_MS, 14 * 24 * 60 * MINUTE);
});

test('a window ending inside a wide row ends at that row’s start, so the row is not counted past the end', (t) => {
  // Five days back rows are per hour: 11:05 ends at 11:00, and the 10:00 row is the last one counted.
  const window = parseWindow({ since: '2026-11-26T09:00:00Z', until: '2026-11-26T11:05:00Z' }, NOW);
  t.deepEqual(window, { since: Date.parse('2026-11-26T09:00:00Z'), until: Date.parse('2026-11-26T11:00:00Z') });
  // Five minutes inside one hour row: nothing whole, so nothing.
  const inside = parseWindow({ since: '5m', until: '2026-11-26T11:05:00Z' }, NOW);
  t.true(inside.since >= inside.until);
  // Minute rows keep the end as asked: the minute under way counts as far as recorded.
  t.is(parseWindow({}, NOW).until, NOW);
});
