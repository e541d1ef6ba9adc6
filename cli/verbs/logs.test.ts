// In-process tests of `lambda logs` against a real HTTP server speaking the logs REST contract.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { runCli, type CliResult } from '../../test/helpers/cli.js';

const KEY = 'test-key';
const test = anyTest as TestFn<{ server: Server; url: string; paths: string[] }>;

const LINES = [
  { time: '2026-11-25T17:00:00.000Z', stream: 'platform', instance: 'a1b2c3d4e5f6', version: 3, text: 'START RequestId: r1 Version: 3' },
  { time: '2026-11-25T17:00:00.001Z', stream: 'out', instance: 'a1b2c3d4e5f6', version: 3, text: 'hello \x1b[31mred\x1b[0m\tand a tab' },
  { time: '2026-11-25T17:00:00.002Z', stream: 'err', instance: 'a1b2c3d4e5f6', version: 3, text: 'oops' },
];
const BUILD = [{ time: '2026-11-25T16:59:00.000Z', stream: 'build', instance: '3f2c1a9b7e01', version: null, text: '-----> Building image' }];

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
  const error = (status: number, code: string, message: string) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code, message } }));
  if (req.headers.authorization !== `Bearer ${KEY}`) return void error(401, 'LAMBDA_ERR_UNAUTHORIZED', 'a valid API token is required: send its key as `Authorization: Bearer <key>`');
  if (path.startsWith('/api/v1/functions/nobody/logs')) return void error(404, 'LAMBDA_ERR_FUNCTION_NOT_FOUND', 'function "nobody" does not exist');
  if (path.includes('version=v9')) return void error(404, 'LAMBDA_ERR_VERSION_NOT_FOUND', 'function "greet" has no version v9');
  const lines = path.includes('build=1') ? BUILD : LINES;
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  // Lines may arrive split anywhere.
  const text = lines.map((line) => `${JSON.stringify(line)}\n`).join('');
  res.write(text.slice(0, 7));
  res.end(text.slice(7));
}

async function cli(t: { context: { url: string } }, argv: string[]): Promise<CliResult> {
  return runCli(argv, t.context.url, KEY);
}

test('prints the last 100 lines for people: time, version, instance, | or ! for stderr, text escaped', async (t) => {
  const result = await cli(t, ['logs', 'greet']);
  t.is(result.status, 0, result.stderr);
  t.deepEqual(t.context.paths, ['/api/v1/functions/greet/logs?tail=100']);
  t.is(
    result.stdout,
    [
      '2026-11-25T17:00:00.000Z v3 a1b2c3 | START RequestId: r1 Version: 3',
      '2026-11-25T17:00:00.001Z v3 a1b2c3 | hello \\x1b[31mred\\x1b[0m\tand a tab',
      '2026-11-25T17:00:00.002Z v3 a1b2c3 ! oops',
      '',
    ].join('\n'),
  );
});

test('--since, --version (not the CLI version), --follow and --lines reach the server', async (t) => {
  const followed = await cli(t, ['logs', 'greet', '--since', '1h', '--version', 'v3', '--follow']);
  // This server ends the stream at once, as a server that stops does: the CLI says so.
  t.is(followed.status, 1);
  t.regex(followed.stderr, /the server ended the log stream \(it stopped or restarted\)/);
  t.is((await cli(t, ['logs', 'greet', '--version=v3', '-n', '5'])).status, 0);
  t.is((await cli(t, ['logs', 'greet', '-n', '0'])).status, 0);
  t.deepEqual(t.context.paths, [
    '/api/v1/functions/greet/logs?since=1h&version=v3&follow=1',
    '/api/v1/functions/greet/logs?version=v3&tail=5',
    '/api/v1/functions/greet/logs',
  ]);
});

test("--build shows the last deploy's output", async (t) => {
  const result = await cli(t, ['logs', 'greet', '--build']);
  t.deepEqual(t.context.paths, ['/api/v1/functions/greet/logs?build=1']);
  t.is(result.stdout, '2026-11-25T16:59:00.000Z build 3f2c1a9b7e01 | -----> Building image\n');
});

test('--json prints one JSON object per line', async (t) => {
  const result = await cli(t, ['logs', 'greet', '--json']);
  t.deepEqual(result.stdout.trim().split('\n').map((line) => JSON.parse(line) as unknown), LINES);
});

const failures = test.macro({
  async exec(t, argv: string[], status: number, stderr: RegExp, requests: number) {
    const result = await cli(t, argv);
    t.is(result.status, status);
    t.regex(result.stderr, stderr);
    t.is(result.stdout, '');
    t.is(t.context.paths.length, requests);
  },
  title: (given = '') => `logs fails: ${given}`,
});

test('unknown function → 4', failures, ['logs', 'nobody'], 4, /does not exist \(LAMBDA_ERR_FUNCTION_NOT_FOUND\)/, 1);
test('unknown version → 4', failures, ['logs', 'greet', '--version', 'v9'], 4, /LAMBDA_ERR_VERSION_NOT_FOUND/, 1);
test('a bad name → 2, no request', failures, ['logs', 'Greet'], 2, /LAMBDA_ERR_INVALID_NAME/, 0);
test('bad --lines → 2, no request', failures, ['logs', 'greet', '--lines', 'all'], 2, /--lines: expected a number/, 0);
