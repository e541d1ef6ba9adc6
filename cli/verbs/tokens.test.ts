// In-process tests of `lambda tokens list|create|revoke` against a real HTTP server speaking the tokens REST contract.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { runCli, type CliResult } from '../../test/helpers/cli.js';

const KEY = 'test-key';

interface Token {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  scope: 'admin' | 'invoke';
  function: string | null;
}

interface Context {
  server: Server;
  url: string;
  tokens: Token[];
  requests: { method: string; path: string; body: string }[];
}

const test = anyTest as TestFn<Context>;

test.beforeEach(async (t) => {
  t.context.requests = [];
  t.context.tokens = [
    { id: '0123456789abcdef', name: 'admin', createdAt: '2024-05-01T10:00:00.000Z', lastUsedAt: '2024-05-02T08:30:00.000Z', scope: 'admin', function: null },
    { id: 'fedcba9876543210', name: '', createdAt: '2024-05-03T10:00:00.000Z', lastUsedAt: null, scope: 'admin', function: null },
    { id: '1111222233334444', name: 'callers', createdAt: '2024-05-03T11:00:00.000Z', lastUsedAt: null, scope: 'invoke', function: 'hello' },
  ];
  t.context.server = createServer((req, res) => void handle(t.context, req, res));
  await new Promise<void>((resolve) => t.context.server.listen(0, '127.0.0.1', resolve));
  t.context.url = `http://127.0.0.1:${(t.context.server.address() as AddressInfo).port}`;
});

test.afterEach.always(async (t) => {
  t.context.server.closeAllConnections();
  await new Promise<void>((resolve) => t.context.server.close(() => resolve()));
});

async function handle(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  const path = req.url ?? '/';
  ctx.requests.push({ method: req.method ?? '', path, body });
  const json = (status: number, value: unknown): void => void res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
  const error = (status: number, code: string, message: string): void => json(status, { error: { code, message } });

  if (req.headers.authorization !== `Bearer ${KEY}`) return error(401, 'LAMBDA_ERR_UNAUTHORIZED', 'a valid API token is required: send its key as `Authorization: Bearer <key>`');
  if (req.method === 'GET' && path === '/api/v1/tokens') return json(200, { tokens: ctx.tokens });
  if (req.method === 'POST' && path === '/api/v1/tokens') {
    const { name, scope, function: fn } = JSON.parse(body || '{}') as { name?: string; scope?: string; function?: string };
    if (name !== undefined && name.length > 64) return error(400, 'LAMBDA_ERR_BAD_REQUEST', 'a token name is at most 64 characters');
    const created = { id: 'aaaabbbbccccdddd', name: name ?? '', createdAt: '2024-05-04T00:00:00.000Z', lastUsedAt: null };
    return json(201, { ...created, scope: scope ?? 'admin', function: fn ?? null, key: 'lambda_NEWKEY' });
  }
  const revoke = /^\/api\/v1\/tokens\/([^/]+)$/.exec(path);
  if (req.method === 'DELETE' && revoke) {
    const id = decodeURIComponent(revoke[1] ?? '');
    if (id === 'last') return error(409, 'LAMBDA_ERR_LAST_TOKEN', 'API token "last" is the only one left');
    if (!ctx.tokens.some((token) => token.id === id)) return error(404, 'LAMBDA_ERR_TOKEN_NOT_FOUND', `API token "${id}" does not exist`);
    res.writeHead(204).end();
    return;
  }
  error(404, 'LAMBDA_ERR_ROUTE_NOT_FOUND', `no route for ${req.method} ${path}`);
}

async function cli(t: { context: Context }, argv: string[], key = KEY): Promise<CliResult> {
  return runCli(argv, t.context.url, key);
}

test('tokens list prints a table with - for no name and never used', async (t) => {
  const result = await cli(t, ['tokens', 'list']);
  t.is(result.status, 0, result.stderr);
  t.is(
    result.stdout,
    [
      'ID                NAME     CREATED                   LAST USED                 SCOPE',
      '0123456789abcdef  admin    2024-05-01T10:00:00.000Z  2024-05-02T08:30:00.000Z  admin',
      'fedcba9876543210  -        2024-05-03T10:00:00.000Z  -                         admin',
      '1111222233334444  callers  2024-05-03T11:00:00.000Z  -                         invoke:hello',
      '',
    ].join('\n'),
  );
});

test('tokens list --json prints the array', async (t) => {
  const result = await cli(t, ['tokens', 'list', '--json']);
  t.is(result.status, 0);
  t.deepEqual(JSON.parse(result.stdout), t.context.tokens);
});

test('tokens create --name sends the name and prints the key on its own last line', async (t) => {
  const result = await cli(t, ['tokens', 'create', '--name', 'ci']);
  t.is(result.status, 0, result.stderr);
  t.deepEqual(t.context.requests.at(-1), { method: 'POST', path: '/api/v1/tokens', body: '{"name":"ci"}' });
  t.is(result.stdout, 'Created token aaaabbbbccccdddd (ci). It is shown only now; keep it somewhere safe:\nlambda_NEWKEY\n');
});

test('tokens create without a name sends {}; --json gives the key for scripts', async (t) => {
  const result = await cli(t, ['tokens', 'create', '--json']);
  t.is(result.status, 0, result.stderr);
  t.is(t.context.requests.at(-1)?.body, '{}');
  t.deepEqual(JSON.parse(result.stdout), { id: 'aaaabbbbccccdddd', name: '', createdAt: '2024-05-04T00:00:00.000Z', lastUsedAt: null, scope: 'admin', function: null, key: 'lambda_NEWKEY' });
});

test('tokens create --invoke [--function F] asks for an invoke-only token; --function alone is a usage error', async (t) => {
  const any = await cli(t, ['tokens', 'create', '--invoke', '--name', 'callers']);
  t.is(any.status, 0, any.stderr);
  t.is(t.context.requests.at(-1)?.body, '{"name":"callers","scope":"invoke"}');
  const one = await cli(t, ['tokens', 'create', '--invoke', '--function', 'hello', '--json']);
  t.is(one.status, 0, one.stderr);
  t.is(t.context.requests.at(-1)?.body, '{"scope":"invoke","function":"hello"}');
  t.like(JSON.parse(one.stdout), { scope: 'invoke', function: 'hello', key: 'lambda_NEWKEY' });
  const sent = t.context.requests.length;
  const alone = await cli(t, ['tokens', 'create', '--function', 'hello']);
  t.is(alone.status, 2);
  t.regex(alone.stderr, /--function needs --invoke/);
  t.is(t.context.requests.length, sent, 'nothing was sent');
});

test('tokens revoke ID sends DELETE and says so', async (t) => {
  const result = await cli(t, ['tokens', 'revoke', 'fedcba9876543210']);
  t.is(result.status, 0, result.stderr);
  t.deepEqual(t.context.requests.at(-1), { method: 'DELETE', path: '/api/v1/tokens/fedcba9876543210', body: '' });
  t.is(result.stdout, 'Revoked token fedcba9876543210\n');
  const json = await cli(t, ['tokens', 'revoke', 'fedcba9876543210', '--json']);
  t.deepEqual(JSON.parse(json.stdout), { id: 'fedcba9876543210', revoked: true });
});

test('an id is sent encoded, so it cannot reach another route', async (t) => {
  const result = await cli(t, ['tokens', 'revoke', '../functions']);
  t.is(t.context.requests.at(-1)?.path, '/api/v1/tokens/..%2Ffunctions');
  t.is(result.status, 4);
});

const failures = test.macro({
  async exec(t, argv: string[], status: number, stderr: string, key?: string) {
    const result = await cli(t, argv, key);
    t.is(result.status, status);
    t.is(result.stderr, stderr);
    t.is(result.stdout, '');
  },
  title: (given = '') => `tokens fails: ${given}`,
});

test('unknown id → 4', failures, ['tokens', 'revoke', 'nope'], 4, ' !     API token "nope" does not exist (LAMBDA_ERR_TOKEN_NOT_FOUND)\n');
test('the last token → 1', failures, ['tokens', 'revoke', 'last'], 1, ' !     API token "last" is the only one left (LAMBDA_ERR_LAST_TOKEN)\n');
test('a bad name → 2', failures, ['tokens', 'create', '--name', 'x'.repeat(65)], 2, ' !     a token name is at most 64 characters (LAMBDA_ERR_BAD_REQUEST)\n');
test('a revoked or wrong key → 3', failures, ['tokens', 'list'], 3, ' !     a valid API token is required: the key came from LAMBDA_API_KEY in this environment; the admin key is printed once by the server\'s first start (`Admin API key`), else it is the server\'s LAMBDA_API_KEY (LAMBDA_ERR_UNAUTHORIZED)\n', 'revoked');
test('revoke without an id → 2', failures, ['tokens', 'revoke'], 2, " !     missing required argument 'id'\n");
test('--json error', failures, ['tokens', 'revoke', 'nope', '--json'], 4, '{"error":{"code":"LAMBDA_ERR_TOKEN_NOT_FOUND","message":"API token \\"nope\\" does not exist"}}\n');
