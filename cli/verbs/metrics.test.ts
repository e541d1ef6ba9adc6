// In-process tests of `lambda metrics` against a real HTTP server speaking the metrics API's contract: the tables,
// `-` for no percentile, the JSON names, what is sent, and a bad --since.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { runCli } from '../../test/helpers/cli.js';

const KEY = 'test-key';
const test = anyTest as TestFn<{ server: Server; url: string; paths: string[] }>;

const KINDS = { handlerErrors: 1, timeouts: 2, crashes: 0, maxMemoryMb: 61.5 };
const FIGURES = { invocations: 120, errors: 3, errorRate: 0.025, p50Ms: 12.345, p95Ms: 480.04, p99Ms: 1530.2, coldStarts: 2, throttles: 1, ...KINDS };
const NONE = { invocations: 0, errors: 0, errorRate: 0, p50Ms: null, p95Ms: null, p99Ms: null, coldStarts: 0, throttles: 0, handlerErrors: 0, timeouts: 0, crashes: 0, maxMemoryMb: null };
const WINDOW = { since: '2026-12-01T09:31:00.000Z', until: '2026-12-01T10:30:20.000Z', step: null };
const ALL = { ...WINDOW, functions: [{ name: 'greet', liveVersion: 2, ...FIGURES }, { name: 'quiet-one', liveVersion: null, ...NONE }] };
const ONE = {
  ...WINDOW,
  name: 'greet',
  liveVersion: 2,
  ...FIGURES,
  versions: [
    { version: 2, live: true, ...FIGURES, invocations: 100, errors: 1 },
    { version: 1, live: false, ...FIGURES, invocations: 20, errors: 2, errorRate: 0.1, handlerErrors: 2, timeouts: 0, maxMemoryMb: null },
  ],
};

test.beforeEach(async (t) => {
  t.context.paths = [];
  t.context.server = createServer((req, res) => handle(t.context, req, res));
  await new Promise<void>((resolve) => t.context.server.listen(0, '127.0.0.1', resolve));
  t.context.url = `http://127.0.0.1:${(t.context.server.address() as AddressInfo).port}`;
});

test.afterEach.always(async (t) => {
  t.context.server.closeAllConnections();
  await new Promise<void>((resolve) => t.context.server.close(() => resolve()));
});

function handle(ctx: { paths: string[] }, req: IncomingMessage, res: ServerResponse): void {
  const path = req.url ?? '/';
  ctx.paths.push(path);
  const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  const since = new URL(path, 'http://x').searchParams.get('since');
  if (since === 'forever') return void json(400, { error: { code: 'LAMBDA_ERR_BAD_REQUEST', message: 'since: expected a duration from 1m to 14d, got "forever"' } });
  if (path.startsWith('/api/v1/metrics')) return void json(200, ALL);
  if (path.startsWith('/api/v1/functions/greet/metrics')) return void json(200, ONE);
  json(404, { error: { code: 'LAMBDA_ERR_FUNCTION_NOT_FOUND', message: 'function "nobody" not found' } });
}

test('without a name: one aligned row per function, - where nothing ran', async (t) => {
  const result = await runCli(['metrics'], t.context.url, KEY);
  t.is(result.status, 0, result.stderr);
  t.is(
    result.stdout,
    [
      'last 1h (since 2026-12-01 09:31 UTC)',
      '',
      'NAME       INVOCATIONS  ERRORS  ERROR RATE  P50     P95    P99    COLD STARTS  THROTTLES',
      'greet      120          3       2.5%        12.3ms  480ms  1.53s  2            1',
      'quiet-one  0            0       0.0%        -       -      -      0            0',
      '',
    ].join('\n'),
  );
  t.deepEqual(t.context.paths, ['/api/v1/metrics']);
});

test('with a name: its total, then each version with the live one marked', async (t) => {
  const result = await runCli(['metrics', 'greet', '--since', '24h'], t.context.url, KEY);
  t.is(result.status, 0, result.stderr);
  t.regex(result.stdout, /^greet, last 24h \(since 2026-12-01 09:31 UTC\)\n\n {2}VERSION\s+INVOCATIONS\s+ERRORS\s+ERROR RATE\s+P50\s+P95\s+P99\s+COLD STARTS\s+THROTTLES\s+HANDLER\s+TIMEOUTS\s+CRASHES\s+MAX MEMORY\n {2}total\s+120\s+3\s+2\.5%/);
  t.regex(result.stdout, /^\* v2\s+100\s+1\s+2\.5%\s+12\.3ms\s+480ms\s+1\.53s\s+2\s+1\s+1\s+2\s+0\s+62 MB$/m);
  t.regex(result.stdout, /^ {2}v1\s+20\s+2\s+10\.0%\s+\S+\s+\S+\s+\S+\s+2\s+1\s+2\s+0\s+0\s+-$/m);
  t.deepEqual(t.context.paths, ['/api/v1/functions/greet/metrics?since=24h']);
});

test('--json: the API figures by their names, an array without a name', async (t) => {
  const all = await runCli(['metrics', '--json', '--since', '2026-12-01T09:00:00Z'], t.context.url, KEY);
  t.is(all.status, 0, all.stderr);
  t.deepEqual(JSON.parse(all.stdout), [{ name: 'greet', ...FIGURES }, { name: 'quiet-one', ...NONE }]);
  t.deepEqual(t.context.paths, ['/api/v1/metrics?since=2026-12-01T09%3A00%3A00Z']);
  const one = await runCli(['metrics', 'greet', '--json'], t.context.url, KEY);
  const parsed = JSON.parse(one.stdout);
  t.deepEqual(Object.keys(parsed), ['name', 'invocations', 'errors', 'errorRate', 'p50Ms', 'p95Ms', 'p99Ms', 'coldStarts', 'throttles', 'handlerErrors', 'timeouts', 'crashes', 'maxMemoryMb', 'versions']);
  t.deepEqual(parsed.versions, ONE.versions);
});

test('a bad --since exits 2 with the server\'s message; an unknown function exits 4; a bad name is refused before any request', async (t) => {
  const bad = await runCli(['metrics', '--since', 'forever'], t.context.url, KEY);
  t.is(bad.status, 2);
  t.regex(bad.stderr, /since: expected a duration .* \(LAMBDA_ERR_BAD_REQUEST\)/);
  const missing = await runCli(['metrics', 'nobody'], t.context.url, KEY);
  t.is(missing.status, 4);
  const before = t.context.paths.length;
  const invalid = await runCli(['metrics', '../etc'], t.context.url, KEY);
  t.is(invalid.status, 2);
  t.is(t.context.paths.length, before);
});

test('a --since that is a time: the window line says since when', async (t) => {
  const result = await runCli(['metrics', '--since', '2026-12-01T09:30:30Z'], t.context.url, KEY);
  t.is(result.status, 0, result.stderr);
  t.is(result.stdout.split('\n')[0], 'since 2026-12-01 09:31 UTC');
});

test('--since with a bare number asks for a unit, before any request', async (t) => {
  for (const argv of [['metrics', '--since', '2', 'hours'], ['metrics', 'greet', '--since', '2', 'hours'], ['metrics', '--since=90']]) {
    const result = await runCli(argv, t.context.url, KEY);
    t.is(result.status, 2, argv.join(' '));
    t.regex(result.stderr, /^ ! {5}--since: a duration needs a unit, e.g\. 2h, got "(2|90)"\n$/, argv.join(' '));
  }
  t.deepEqual(t.context.paths, []);
});

test('an extra argument exits 2 naming it, before any request', async (t) => {
  const result = await runCli(['metrics', 'greet', 'extra'], t.context.url, KEY);
  t.is(result.status, 2);
  t.is(result.stderr, ' !     too many arguments: "extra" (usage: lambda metrics [options] [name])\n');
  t.deepEqual(t.context.paths, []);
});
