// Prometheus' series: what each call adds, the gauges read at scrape time, the counters seeded from stored totals, the
// series of a deleted function and of pruned versions gone, and histogram bounds that agree with the rows' buckets.
import test from 'ava';
import { readScrape } from '../../test/helpers/prometheus.js';
import { BUCKET_BOUNDS_MS, bucketOf } from './buckets.js';
import { DURATION_BUCKETS, createPrometheus, type ScrapeSources } from './prometheus.js';

const sources = (over: Partial<ScrapeSources> = {}): ScrapeSources => ({
  functions: () => ['greet', 'quiet'],
  instances: () => ({ greet: { running: 3, frozen: 1, starting: 1 } }),
  queues: () => new Map([['greet', { depth: 4, oldestWaiting: 7_000 }]]),
  deadLetters: () => new Map([['greet', 2]]),
  cells: () => ({ node20: { ready: 5, starting: 2, size: 7 } }),
  bodyBytes: () => 5000,
  connections: async () => 7,
  ...over,
});

test('each call adds to its series; gauges are read at scrape time, zeros for a function with nothing', async (t) => {
  const prometheus = createPrometheus(sources(), () => 10_000);
  prometheus.invocation({ fn: 'greet', version: 3, trigger: 'http', at: 0, durationMs: 1.5, coldStartMs: 40 });
  prometheus.invocation({ fn: 'greet', version: 3, trigger: 'http', at: 0, durationMs: 900, error: 'timeout' });
  prometheus.invocation({ fn: 'greet', version: 3, trigger: 'async', at: 0, durationMs: 5, error: 'handler' });
  prometheus.throttle('greet', 3, 'direct');
  prometheus.memory('greet', 3, 60);
  prometheus.memory('greet', 3, 20);
  prometheus.build('greet', 12_000, 'success');
  prometheus.build('greet', 3_000, 'failure');
  prometheus.scheduleFiring('greet', 'fired');
  prometheus.scheduleFiring('greet', 'missed', 5);
  const scrape = readScrape(await prometheus.text());
  const greet = { function: 'greet', version: '3' };
  t.is(scrape.value('lambda_invocations_total', { ...greet, trigger: 'http' }), 2);
  t.is(scrape.value('lambda_invocations_total', { ...greet, trigger: 'async' }), 1);
  t.is(scrape.value('lambda_errors_total', { ...greet, trigger: 'http', kind: 'timeout' }), 1);
  t.is(scrape.value('lambda_errors_total', { ...greet, trigger: 'async', kind: 'handler' }), 1);
  t.is(scrape.value('lambda_throttles_total', { ...greet, trigger: 'direct' }), 1);
  t.is(scrape.value('lambda_cold_starts_total', greet), 1);
  t.is(scrape.value('lambda_max_memory_used_bytes', greet), 60 * 1024 * 1024);
  t.is(scrape.value('lambda_builds_total', { function: 'greet', outcome: 'success' }), 1);
  t.is(scrape.value('lambda_builds_total', { function: 'greet', outcome: 'failure' }), 1);
  t.is(scrape.value('lambda_schedule_firings_total', { function: 'greet', outcome: 'missed' }), 5);
  t.is(scrape.histogramCount('lambda_invocation_duration_seconds', greet), 3);
  t.is(scrape.histogramCount('lambda_cold_start_duration_seconds', { function: 'greet' }), 1);
  t.is(scrape.histogramCount('lambda_build_duration_seconds', { function: 'greet' }), 2);
  t.is(scrape.value('lambda_instances', { function: 'greet', state: 'running' }), 2);
  t.is(scrape.value('lambda_instances', { function: 'greet', state: 'frozen' }), 1);
  t.is(scrape.value('lambda_instances', { function: 'greet', state: 'starting' }), 1);
  t.is(scrape.value('lambda_cells', { runtime: 'node20', state: 'ready' }), 5);
  t.is(scrape.value('lambda_cells', { runtime: 'node20', state: 'starting' }), 2);
  t.is(scrape.value('lambda_cells', { runtime: 'node20', state: 'wanted' }), 7);
  t.is(scrape.value('lambda_queue_depth', { function: 'greet' }), 4);
  t.is(scrape.value('lambda_queue_depth', { function: 'quiet' }), 0);
  t.is(scrape.value('lambda_queue_oldest_age_seconds', { function: 'greet' }), 3);
  t.is(scrape.value('lambda_queue_oldest_age_seconds', { function: 'quiet' }), 0);
  t.is(scrape.value('lambda_dead_letters', { function: 'greet' }), 2);
  t.is(scrape.value('lambda_dead_letters', { function: 'quiet' }), 0);
  t.is(scrape.value('lambda_body_bytes_held', {}), 5000);
  t.is(scrape.value('lambda_client_connections', {}), 7);
  // Every family has its type and help.
  for (const family of scrape.families) t.true(family.help.length > 0 && family.type !== 'UNTYPED', family.name);
});

test('seeded counters start from the stored totals, and go on from there', async (t) => {
  const prometheus = createPrometheus(sources({ functions: () => [] }));
  const zero = { handlerErrors: 0, timeouts: 0, crashes: 0, throttles: 0, coldStarts: 0, coldStartMs: 0, durationMs: 0, maxMemoryMb: 0 };
  prometheus.seed([
    { ...zero, fn: 'greet', version: 1, trigger: 'http', invocations: 10, handlerErrors: 2, crashes: 1, throttles: 4, coldStarts: 3, maxMemoryMb: 50 },
    { ...zero, fn: 'greet', version: 1, trigger: 'schedule', invocations: 6, timeouts: 1 },
  ]);
  prometheus.invocation({ fn: 'greet', version: 1, trigger: 'http', at: 0, durationMs: 1, error: 'handler' });
  const scrape = readScrape(await prometheus.text());
  const v1 = { function: 'greet', version: '1' };
  t.is(scrape.value('lambda_invocations_total', { ...v1, trigger: 'http' }), 11);
  t.is(scrape.value('lambda_invocations_total', { ...v1, trigger: 'schedule' }), 6);
  t.is(scrape.value('lambda_errors_total', { ...v1, trigger: 'http', kind: 'handler' }), 3);
  t.is(scrape.value('lambda_errors_total', { ...v1, trigger: 'http', kind: 'crash' }), 1);
  t.is(scrape.value('lambda_errors_total', { ...v1, trigger: 'schedule', kind: 'timeout' }), 1);
  t.is(scrape.value('lambda_throttles_total', { ...v1, trigger: 'http' }), 4);
  t.is(scrape.value('lambda_cold_starts_total', v1), 3);
  t.is(scrape.value('lambda_max_memory_used_bytes', v1), 50 * 1024 * 1024);
});

test("a deleted function's series go, and a pruned version's, and nothing else", async (t) => {
  const prometheus = createPrometheus(sources({ functions: () => [], instances: () => ({}) }));
  for (const [fn, version] of [['greet', 1], ['greet', 2], ['other', 1]] as const) {
    prometheus.invocation({ fn, version, trigger: 'http', at: 0, durationMs: 1, error: 'crash', coldStartMs: 5, maxMemoryMb: 10 });
    prometheus.throttle(fn, version, 'http');
  }
  prometheus.build('other', 1000, 'success');
  prometheus.scheduleFiring('other', 'fired');
  prometheus.versionsPruned('greet', [1]);
  prometheus.functionDeleted('other');
  // Removal reads the series first: let it run.
  await new Promise((resolve) => setImmediate(resolve));
  const text = await prometheus.text();
  t.false(text.includes('function="other"'), text);
  t.false(text.includes('version="1"'), text);
  const scrape = readScrape(text);
  t.is(scrape.value('lambda_invocations_total', { function: 'greet', version: '2', trigger: 'http' }), 1);
  t.is(scrape.histogramCount('lambda_invocation_duration_seconds', { function: 'greet', version: '2' }), 1);
});

test('a function version and trigger counted once has every error kind, throttles and cold starts at 0, so a rate reads 0, not nothing', async (t) => {
  const prometheus = createPrometheus(sources({ functions: () => [], instances: () => ({}) }));
  prometheus.invocation({ fn: 'greet', version: 1, trigger: 'http', at: 0, durationMs: 1 });
  prometheus.throttle('greet', 2, 'direct');
  const zero = { handlerErrors: 0, timeouts: 0, crashes: 0, throttles: 0, coldStarts: 0, coldStartMs: 0, durationMs: 0, maxMemoryMb: 0 };
  prometheus.seed([{ ...zero, fn: 'greet', version: 3, trigger: 'schedule', invocations: 2 }]);
  const scrape = readScrape(await prometheus.text());
  for (const [version, trigger, invocations] of [['1', 'http', 1], ['2', 'direct', 0], ['3', 'schedule', 2]] as const) {
    const labels = { function: 'greet', version, trigger };
    t.is(scrape.value('lambda_invocations_total', labels), invocations, `${version} ${trigger}`);
    for (const kind of ['handler', 'timeout', 'crash']) t.is(scrape.value('lambda_errors_total', { ...labels, kind }), 0, `${version} ${trigger} ${kind}`);
    t.is(scrape.value('lambda_throttles_total', labels), version === '2' ? 1 : 0, `${version} ${trigger}`);
    t.is(scrape.value('lambda_cold_starts_total', { function: 'greet', version }), 0, version);
  }
  // Only what was counted: no series for a trigger nobody used.
  t.is(scrape.value('lambda_errors_total', { function: 'greet', version: '1', trigger: 'async', kind: 'handler' }), undefined);
  t.is(scrape.series('lambda_errors_total').length, 9);
});

test('after a version is pruned and counted again, its zeros come back', async (t) => {
  const prometheus = createPrometheus(sources({ functions: () => [], instances: () => ({}) }));
  prometheus.invocation({ fn: 'greet', version: 1, trigger: 'http', at: 0, durationMs: 1 });
  prometheus.versionsPruned('greet', [1]);
  await new Promise((resolve) => setImmediate(resolve));
  t.is(readScrape(await prometheus.text()).series('lambda_errors_total').length, 0);
  prometheus.invocation({ fn: 'greet', version: 1, trigger: 'http', at: 0, durationMs: 1 });
  const scrape = readScrape(await prometheus.text());
  t.is(scrape.value('lambda_errors_total', { function: 'greet', version: '1', trigger: 'http', kind: 'crash' }), 0);
  t.is(scrape.value('lambda_cold_starts_total', { function: 'greet', version: '1' }), 0);
});

test("the duration histogram's bounds are bounds of the rows' buckets: both put a duration on the same side of each", (t) => {
  for (const bound of DURATION_BUCKETS) t.true(BUCKET_BOUNDS_MS.includes(bound * 1000), `${bound} s`);
  for (let ms = 0.3; ms < 40_000; ms *= 1.07) {
    const fine = BUCKET_BOUNDS_MS[bucketOf(ms)] as number;
    for (const bound of DURATION_BUCKETS) t.is(ms <= bound * 1000, fine <= bound * 1000, `${ms} ms against ${bound} s`);
  }
});
