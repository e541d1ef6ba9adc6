// In-process tests of `lambda env`, `env set` and `env unset` against a real HTTP server speaking their REST contract:
// what people see (env values cannot drive the terminal), and what is sent.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { runCli } from '../../test/helpers/cli.js';

const KEY = 'test-key';
const test = anyTest as TestFn<{ server: Server; url: string; calls: { method: string; path: string; body: string }[] }>;


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
  if (path.startsWith('/api/v1/functions/greet/env') && req.method === 'GET') {
    const reveal = path.includes('reveal=1');
    return void json(200, { name: 'greet', vars: { TOKEN: reveal ? 'x\x1b[2Jy' : '••••••' }, manifest: { GREETING: 'Hello', TOKEN: 'from-yaml' }, revealed: reveal });
  }
  if (path === '/api/v1/functions/greet/env' && body.includes('NOPE')) {
    return void json(200, { name: 'greet', keys: ['A'], release: null, changed: false, notSet: ['NOPE'] });
  }
  if (path === '/api/v1/functions/greet/env') return void json(200, { name: 'greet', keys: ['A'], release: { toVersion: 2 }, changed: true, notSet: [] });
  json(404, { error: { code: 'LAMBDA_ERR_ROUTE_NOT_FOUND', message: 'no route' } });
}

test('env: masked values from the server, lambda.yaml values that env set overrides are not listed twice; --reveal asks for them', async (t) => {
  const masked = await runCli(['env', 'greet'], t.context.url, KEY);
  t.is(masked.status, 0, masked.stderr);
  t.regex(masked.stdout, /^TOKEN\s+••••••\s+lambda env set$/m);
  t.regex(masked.stdout, /^GREETING\s+Hello\s+lambda\.yaml$/m);
  t.notRegex(masked.stdout, /from-yaml/);
  const revealed = await runCli(['env', 'greet', '--reveal'], t.context.url, KEY);
  t.regex(revealed.stdout, /^TOKEN\s+x\\x1b\[2Jy\s+lambda env set$/m);
  t.true(t.context.calls.some((call) => call.path === '/api/v1/functions/greet/env?reveal=1'));
});

test('env set sends KEY=VALUE pairs split at the first =, env unset the keys; a pair without = is a usage error', async (t) => {
  const set = await runCli(['env', 'set', 'greet', 'A=1=2', 'B='], t.context.url, KEY);
  t.is(set.status, 0, set.stderr);
  t.regex(set.stdout, /Set A, B on greet; v2 now serves with it \(no rebuild\)/);
  t.deepEqual(JSON.parse(t.context.calls.at(-1)?.body ?? ''), { set: { A: '1=2', B: '' } });
  const unset = await runCli(['env', 'unset', 'greet', 'A', 'B'], t.context.url, KEY);
  t.is(unset.status, 0, unset.stderr);
  t.deepEqual(JSON.parse(t.context.calls.at(-1)?.body ?? ''), { unset: ['A', 'B'] });
  t.is(unset.stdout, 'Unset A, B on greet; v2 now serves without them (no rebuild)\n');
  const calls = t.context.calls.length;
  for (const bad of ['NOEQUALS', '=value']) {
    const result = await runCli(['env', 'set', 'greet', bad], t.context.url, KEY);
    t.is(result.status, 2, bad);
    t.regex(result.stderr, /expected KEY=VALUE/);
  }
  const badName = await runCli(['env', 'set', '../etc', 'A=1'], t.context.url, KEY);
  t.is(badName.status, 2);
  t.is(t.context.calls.length, calls, 'nothing was sent for a bad call');
});

test('env unset of a variable never set says so and that nothing changed', async (t) => {
  const result = await runCli(['env', 'unset', 'greet', 'NOPE'], t.context.url, KEY);
  t.is(result.status, 0, result.stderr);
  t.is(result.stdout, 'NOPE is not set on greet; nothing changed\n');
});
