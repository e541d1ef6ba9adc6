// The node20 shim's cell mode, run as a plain process (no Docker) against the host end of its socket: it serves
// nothing before its init, takes exactly one init and only with its secret, keeps the secret from the function,
// a classic instance refuses every init, and internal headers without the secret are ordinary public traffic.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import anyTest, { type TestFn } from 'ava';
import { InstanceClients } from '../requests/client.js';
import { startNodeShim } from '../../../test/helpers/node-shim.js';

const HANDLER = `export const handler = async (event) => {
  if (String(event.body).includes('"fail"')) throw new TypeError('boom 42');
  return { env: process.env, path: event.rawPath };
};\n`;

const test = anyTest as TestFn<{ dir: string; clients: InstanceClients; child?: ChildProcess; id: string }>;

test.beforeEach((t) => {
  t.context.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-cell-'));
  t.context.clients = new InstanceClients();
  t.context.id = 'cellcellcell';
  for (const [name, text] of Object.entries({ 'task/index.mjs': HANDLER, 'other/index.mjs': 'export const handler = async () => "other";\n' })) {
    fs.mkdirSync(path.join(t.context.dir, path.dirname(name)), { recursive: true });
    fs.writeFileSync(path.join(t.context.dir, name), text);
  }
});

test.afterEach.always(async (t) => {
  t.context.child?.kill('SIGKILL');
  await t.context.clients.destroy(t.context.id);
  fs.rmSync(t.context.dir, { recursive: true, force: true });
});

/** Starts the shim with `env` as its whole environment; resolves once it has dialled in and answered a health call. */
async function start(t: { context: { dir: string; clients: InstanceClients; child?: ChildProcess; id: string } }, env: Record<string, string>) {
  const socketDir = path.join(t.context.dir, 'run');
  fs.mkdirSync(socketDir);
  const target = { id: t.context.id, socketPath: path.join(socketDir, 'host.sock') };
  t.context.clients.link(target);
  // The secret comes on stdin, as the host writes it at a container's start (server/engine/containers.ts).
  const { LAMBDA_INSTANCE_SECRET: secret = '', ...rest } = env;
  const { child, output } = startNodeShim(socketDir, { HOSTNAME: 'cell-host', ...rest }, secret);
  t.context.child = child;
  if (!(await t.context.clients.healthy(target, 10_000))) throw new Error(`the shim did not answer:\n${output()}`);
  const send = async (headers: Record<string, string>, body?: unknown) => {
    const response = await t.context.clients.get(target).request({
      path: '/probe',
      method: body === undefined ? 'GET' : 'POST',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.body.text();
    return { status: response.statusCode, text, json: () => JSON.parse(text) as { env: Record<string, string>; path: string } };
  };
  const init = (secret: string | undefined, env: Record<string, string>) =>
    send({ 'x-lambda-internal-invoke': 'init', ...(secret === undefined ? {} : { 'x-lambda-internal-secret': secret }) }, { env });
  return { child, send, init, output };
}

const functionEnv = (dir: string, name: string) => ({
  LAMBDA_TASK_ROOT: path.join(dir, 'task'),
  LAMBDA_HANDLER: 'index.handler',
  LAMBDA_FUNCTION_NAME: name,
  LAMBDA_FUNCTION_VERSION: '3',
  LAMBDA_TIMEOUT_MS: '5000',
  LAMBDA_MEMORY_MB: '128',
  AWS_LAMBDA_FUNCTION_NAME: name,
  GREETING: 'hi',
});

test('a cell serves nothing before its init, takes one init with its secret, then runs as that function only', async (t) => {
  const SECRET = t.context.clients.secretOf(t.context.id);
  const shim = await start(t, { LAMBDA_CELL: '1', LAMBDA_INSTANCE_SECRET: SECRET });
  t.is((await shim.send({})).status, 503, 'no function before the init');
  t.is((await shim.send({ 'x-lambda-internal-invoke': 'warm' }, { warm: true })).status, 503, 'a warm-up without the secret is refused');
  const warm = await shim.send({ 'x-lambda-internal-invoke': 'warm', 'x-lambda-internal-secret': SECRET, cookie: 'a=1' }, { warm: true });
  t.is(warm.status, 200, 'the host may warm the request path up, with no function');
  t.deepEqual(JSON.parse(warm.text), { path: '/probe' });
  t.is((await shim.send({})).status, 503, 'a warm-up loads no function');

  // Without the right secret an init is public traffic, which a cell with no function does not serve.
  t.is((await shim.init(undefined, functionEnv(t.context.dir, 'alpha'))).status, 503, 'no secret');
  t.is((await shim.init('b'.repeat(64), functionEnv(t.context.dir, 'alpha'))).status, 503, 'a wrong secret');
  t.is((await shim.init(SECRET.slice(1), functionEnv(t.context.dir, 'alpha'))).status, 503, 'a secret of another length');
  t.is((await shim.send({})).status, 503, 'refused inits change nothing');

  const init = await shim.init(SECRET, functionEnv(t.context.dir, 'alpha'));
  t.is(init.status, 200, init.text);
  const answer = await shim.send({});
  t.is(answer.status, 200);
  const { env, path: seen } = answer.json();
  t.is(seen, '/probe');
  t.like(env, { AWS_LAMBDA_FUNCTION_NAME: 'alpha', GREETING: 'hi', HOSTNAME: 'cell-host' });
  t.false('LAMBDA_INSTANCE_SECRET' in env, 'the secret is gone before the function loads');
  t.false('LAMBDA_CELL' in env);
  t.false('LAMBDA_SOCKET_DIR' in env, "the init's env is the whole environment");

  // A second init, even with the right secret, is refused and the function stays as it was.
  const again = await shim.init(SECRET, { ...functionEnv(t.context.dir, 'beta'), LAMBDA_TASK_ROOT: path.join(t.context.dir, 'other') });
  t.is(again.status, 403);
  t.is((await shim.send({})).json().env.AWS_LAMBDA_FUNCTION_NAME, 'alpha');
});

test('a cell whose handler cannot load answers its init with the error and exits', async (t) => {
  const SECRET = t.context.clients.secretOf(t.context.id);
  const shim = await start(t, { LAMBDA_CELL: '1', LAMBDA_INSTANCE_SECRET: SECRET });
  const exited = new Promise<number | null>((resolve) => shim.child.once('exit', resolve));
  const init = await shim.init(SECRET, { ...functionEnv(t.context.dir, 'alpha'), LAMBDA_HANDLER: 'missing.handler' });
  t.is(init.status, 500);
  t.regex(init.text, /handler file "missing" not found/);
  t.is(await exited, 1);
});

test('a classic instance refuses every init, whatever its headers say', async (t) => {
  const SECRET = t.context.clients.secretOf(t.context.id);
  const shim = await start(t, { ...functionEnv(t.context.dir, 'alpha'), LAMBDA_INSTANCE_SECRET: SECRET });
  t.is((await shim.init(SECRET, functionEnv(t.context.dir, 'beta'))).status, 403, 'refused even with its secret');
  // Without it, the call is an ordinary request the handler answers.
  for (const secret of [undefined, '']) t.is((await shim.init(secret, functionEnv(t.context.dir, 'beta'))).json().path, '/probe');
  t.is((await shim.send({})).json().env.AWS_LAMBDA_FUNCTION_NAME, 'alpha');
});

test('without its secret, a call marked health, direct or with a request id is an ordinary request to the handler', async (t) => {
  const SECRET = t.context.clients.secretOf(t.context.id);
  const shim = await start(t, { ...functionEnv(t.context.dir, 'alpha'), LAMBDA_INSTANCE_SECRET: SECRET });
  for (const mode of ['health', 'direct', 'warm']) {
    for (const secret of [undefined, '', 'b'.repeat(64)]) {
      const headers = { 'x-lambda-internal-invoke': mode, 'x-lambda-internal-request-id': 'forged', ...(secret === undefined ? {} : { 'x-lambda-internal-secret': secret }) };
      const answer = await shim.send(headers, { event: 'public' });
      t.is(answer.status, 200, `${mode} with secret ${String(secret)}`);
      t.is(answer.json().path, '/probe', 'answered as an HTTP event, not a direct invoke or a health check');
    }
  }
  // The host's own calls carry the secret: a direct invoke gets the payload as its event.
  const direct = await shim.send({ 'x-lambda-internal-invoke': 'direct', 'x-lambda-internal-secret': SECRET }, { event: 'direct' });
  t.is(direct.status, 200);
  t.false('path' in direct.json(), 'the payload itself is the event');
  t.is(shim.output().includes('forged'), false, 'a forged request id never names an invocation');
});

test("a handler's error reaches the host's own HTTP calls (a queued one), never a public caller", async (t) => {
  const SECRET = t.context.clients.secretOf(t.context.id);
  const shim = await start(t, { ...functionEnv(t.context.dir, 'alpha'), LAMBDA_INSTANCE_SECRET: SECRET });
  const json = { 'content-type': 'application/json' };
  const host = await shim.send({ ...json, 'x-lambda-internal-secret': SECRET, 'x-lambda-internal-request-id': 'queued-1' }, { fail: true });
  t.is(host.status, 502);
  t.deepEqual(JSON.parse(host.text), { errorType: 'TypeError', errorMessage: 'boom 42' });
  for (const secret of [undefined, 'b'.repeat(64)]) {
    const anonymous = await shim.send(secret === undefined ? json : { ...json, 'x-lambda-internal-secret': secret }, { fail: true });
    t.is(anonymous.status, 502);
    t.false(anonymous.text.includes('boom 42'), anonymous.text);
    t.is((JSON.parse(anonymous.text) as { message: string }).message, 'Internal Server Error');
  }
});
