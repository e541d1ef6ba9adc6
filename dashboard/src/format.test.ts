// The pages' pure helpers: numbers as read, chart columns, log lines split from a stream with a bound, page routes.
import test from 'ava';
import { columns, counted, formatAgo, formatCount, formatInstances, formatMs, formatRate, isWindowName, LineSplitter, pageOf, parseLogLine, sparsePoints } from './format.js';

test('numbers and times read as people write them', (t) => {
  t.is(formatMs(null), '—');
  t.is(formatMs(12.4), '12 ms');
  t.is(formatMs(1400), '1.40 s');
  t.is(formatMs(90_000), '1.5 min');
  t.is(formatCount(950), '950');
  t.is(formatCount(12_345), '12.3k');
  t.is(formatCount(4_500_000), '4.5M');
  t.is(formatRate(0), '0%');
  t.is(formatRate(0.025), '2.5%');
  t.is(formatRate(0.5), '50%');
  t.is(formatAgo('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:03:10Z')), '3 min ago');
  t.is(formatAgo(null), '—');
  t.is(formatAgo('not a time'), '—');
});

test('a series becomes uPlot columns, seconds first, a missing percentile a gap', (t) => {
  const point = { invocations: 3, errors: 1, throttles: 0, coldStarts: 1, p50Ms: 5, p95Ms: null, p99Ms: null };
  const data = columns([{ at: '2026-01-01T00:00:00Z', ...point }, { at: '2026-01-01T00:01:00Z', ...point, p95Ms: 9 }], ['invocations', 'p95Ms']);
  t.deepEqual(data, [[1767225600, 1767225660], [3, 3], [null, 9]]);
});

test('log lines split across chunks join, and a line without end is cut at the bound', (t) => {
  const lines = new LineSplitter(10);
  t.deepEqual(lines.push('{"a":'), []);
  t.deepEqual(lines.push('1}\n{"b"'), ['{"a":1}']);
  t.deepEqual(lines.push(':2}\n\n'), ['{"b":2}']);
  t.deepEqual(lines.push('x'.repeat(25)), ['x'.repeat(10)]);
  t.deepEqual(lines.push('\n'), []);
});

test('a log line is an entry only with text; anything else is dropped', (t) => {
  t.deepEqual(parseLogLine('{"time":"t","stream":"out","version":2,"text":"<img src=x>"}'), { time: 't', stream: 'out', instance: undefined, version: 2, text: '<img src=x>' });
  t.is(parseLogLine('not json'), undefined);
  t.is(parseLogLine('{"text":5}'), undefined);
  t.is(parseLogLine('null'), undefined);
});

test('addresses name the functions page, a function, or nothing', (t) => {
  t.deepEqual(pageOf('/dashboard'), { page: 'functions' });
  t.deepEqual(pageOf('/dashboard/'), { page: 'functions' });
  t.deepEqual(pageOf('/dashboard/functions/greet'), { page: 'function', name: 'greet' });
  t.deepEqual(pageOf('/dashboard/functions/Greet'), { page: 'unknown' });
  t.deepEqual(pageOf('/dashboard/functions/a/b'), { page: 'unknown' });
  t.true(isWindowName('24h'));
  t.false(isWindowName('toString'));
  t.false(isWindowName(null));
});

test('counts carry their noun, singular for one', (t) => {
  t.is(counted(1, 'invocation'), '1 invocation');
  t.is(counted(0, 'invocation'), '0 invocations');
  t.is(counted(12_345, 'error'), '12.3k errors');
});

test('a frozen instance is said to be frozen, not running', (t) => {
  t.is(formatInstances({ running: 1, starting: 0, frozen: 1 }), '0 running, 1 frozen');
  t.is(formatInstances({ running: 3, starting: 1, frozen: 1 }), '2 running, 1 frozen, 1 starting');
  t.is(formatInstances({ running: 2, starting: 0 }), '2 running');
  t.is(formatInstances(undefined), '—');
});

test('sparse series get dots where they have values; dense ones none', (t) => {
  t.deepEqual(sparsePoints([null, null, 12, null], false), [2]);
  t.deepEqual(sparsePoints([0, 0, 3, 0], true), [2]);
  t.deepEqual(sparsePoints([0, 0, 3, 0], false), [0, 1, 2, 3]);
  t.is(sparsePoints(Array.from({ length: 50 }, () => 1), true), null);
});
