// In-process tests of `lambda versions`, `releases` and `delete` against a real HTTP server speaking their REST
// contract: what people see (text from commits cannot drive the terminal), counts in words, and what is sent.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { runCli } from '../../test/helpers/cli.js';

const KEY = 'test-key';
const test = anyTest as TestFn<{ server: Server; url: string; calls: { method: string; path: string; body: string }[] }>;

const VERSIONS = [
  { version: 2, sha: 'b'.repeat(40), message: 'evil \x1b[2J\x1b]0;owned\x07title', author: 'Mallory \x1b[31m<m@x>', createdAt: '2026-11-30T10:00:00.000Z', live: true, imageKept: true },
  { version: 1, sha: 'a'.repeat(40), message: 'first', author: 'Ann <a@x>', createdAt: '2026-11-29T10:00:00.000Z', live: false, imageKept: false },
];

test.beforeEach(async (t) => {
  t.context.calls = [];
  t.context.server = createServer((req, res) => void handle(t.context, req, res));
  await new Promise<void>((resolve) => t.context.server.listen(0, '127.0.0.1', resolve));
  t.context.url = `http://127.0.0.1:${(t.context.server.address() as AddressInfo).port}`;
});

test.afterEach.always(async (t) => {
  t.context.server.closeAllConnections();
  await new Promise<void>((resolve) => t.context.server.close(() => resolve()));
});

async function handle(ctx: { calls: { method: string; path: string; body: string }[] }, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  const path = req.url ?? '/';
  ctx.calls.push({ method: req.method ?? '', path, body });
  const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  if (path === '/api/v1/functions/greet/versions') return void json(200, { versions: VERSIONS });
  if (path === '/api/v1/functions/greet/releases') {
    return void json(200, { releases: [{ id: 3, kind: 'env', fromVersion: 2, toVersion: 2, who: 'token ci (abc)', detail: 'set A', createdAt: '2026-11-30T11:00:00.000Z' }] });
  }
  if (path === '/api/v1/functions/greet' && req.method === 'DELETE') return void json(200, { name: 'greet', versions: 2, images: 1 });
  if (path === '/api/v1/functions/one' && req.method === 'DELETE') return void json(200, { name: 'one', versions: 1, images: 0 });
  json(404, { error: { code: 'LAMBDA_ERR_ROUTE_NOT_FOUND', message: 'no route' } });
}

test('versions: live marker, kept or pruned, and commit text with its control characters escaped', async (t) => {
  const result = await runCli(['versions', 'greet'], t.context.url, KEY);
  t.is(result.status, 0, result.stderr);
  t.false(result.stdout.includes('\x1b') || result.stdout.includes('\x07'));
  t.regex(result.stdout, /^\* v2\s+bbbbbbbbbbbb\s+2026-11-30T10:00:00.000Z\s+kept\s+Mallory \\x1b\[31m<m@x>\s+evil \\x1b\[2J\\x1b\]0;owned\\x07title$/m);
  t.regex(result.stdout, /^ {2}v1\s+aaaaaaaaaaaa\s+\S+\s+pruned\s+Ann <a@x>\s+first$/m);
  const json = await runCli(['versions', 'greet', '--json'], t.context.url, KEY);
  t.deepEqual(JSON.parse(json.stdout), VERSIONS);
});

test('releases: kind, versions, who and what', async (t) => {
  const result = await runCli(['releases', 'greet'], t.context.url, KEY);
  t.is(result.status, 0, result.stderr);
  t.regex(result.stdout, /^3\s+2026-11-30T11:00:00.000Z\s+env\s+v2\s+token ci \(abc\)\s+set A$/m);
});

test('delete without --yes and without an answer sends nothing; with --yes it deletes', async (t) => {
  const refused = await runCli(['delete', 'greet'], t.context.url, KEY);
  t.is(refused.status, 2);
  t.regex(refused.stderr, /not deleted/);
  t.false(t.context.calls.some((call) => call.method === 'DELETE'));
  const done = await runCli(['delete', 'greet', '--yes'], t.context.url, KEY);
  t.is(done.status, 0, done.stderr);
  t.is(done.stdout, 'Deleted greet (2 versions, 1 image)\n');
  t.deepEqual(t.context.calls.filter((call) => call.method === 'DELETE').map((call) => call.path), ['/api/v1/functions/greet']);
  const one = await runCli(['delete', 'one', '--yes'], t.context.url, KEY);
  t.is(one.stdout, 'Deleted one (1 version, 0 images)\n');
});
