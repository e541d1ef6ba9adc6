// The python3 shim's cell mode, run as a plain process (no Docker) against the host end of its socket: it serves
// nothing before its init, takes exactly one init and only with its secret, keeps the secret from the function,
// loads the handler as a classic start would (main thread, its own modules over the ones imported early, the
// function's time zone), and a classic instance refuses every init.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import anyTest, { type TestFn } from 'ava';
import { InstanceClients } from '../requests/client.js';

const SHIM = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../buildpacks/python3/shim');
const HANDLER = [
  'import os',
  'import signal',
  'import sys',
  'import time',
  'import decimal',
  '# Only the main thread may set a signal handler: a cell loads the handler there, as a classic start does, and',
  "# the shim's own SIGTERM handler is set after it.",
  'signal.signal(signal.SIGTERM, signal.SIG_IGN)',
  'def handler(event, context):',
  '    if event.get("body") == "fail":',
  '        raise TypeError("boom 42")',
  '    return {"env": dict(os.environ), "path": event["rawPath"], "decimal": getattr(decimal, "OWN", "stdlib"), "tz": time.tzname[0],',
  '            "name": context.function_name, "remaining": context.get_remaining_time_in_millis() > 4000}',
  '',
].join('\n');

let python: string | undefined;
try {
  python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
} catch {
  python = undefined;
}

interface Context {
  dir: string;
  clients: InstanceClients;
  child?: ChildProcess;
  id: string;
}
const test = anyTest as TestFn<Context>;

test.beforeEach((t) => {
  t.context.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-pycell-'));
  t.context.clients = new InstanceClients();
  t.context.id = 'pycellpycell';
  const files = { 'task/app.py': HANDLER, 'other/app.py': 'def handler(event, context):\n    return "other"\n', 'shadow/app.py': HANDLER, 'shadow/decimal.py': 'OWN = "the function\'s own"\n' };
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.join(t.context.dir, path.dirname(name)), { recursive: true });
    fs.writeFileSync(path.join(t.context.dir, name), text);
  }
});

test.afterEach.always(async (t) => {
  t.context.child?.kill('SIGKILL');
  await t.context.clients.destroy(t.context.id);
  fs.rmSync(t.context.dir, { recursive: true, force: true });
});

interface Answer {
  env: Record<string, string>;
  path: string;
  decimal: string;
  tz: string;
  name: string;
  remaining: boolean;
}

/** Starts the shim with `env` as its whole environment and its secret on stdin; resolves once it answers a health call. */
async function start(t: { context: Context }, env: Record<string, string>) {
  if (!python) throw new Error('python3 is not installed');
  const socketDir = path.join(t.context.dir, 'run');
  fs.mkdirSync(socketDir);
  const target = { id: t.context.id, socketPath: path.join(socketDir, 'host.sock') };
  t.context.clients.link(target);
  const secret = t.context.clients.secretOf(t.context.id);
  const child = spawn(python, ['-I', '-B', SHIM], { env: { HOSTNAME: 'cell-host', LAMBDA_SOCKET_DIR: socketDir, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdin.end(`${secret}\n`);
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  t.context.child = child;
  if (!(await t.context.clients.healthy(target, 10_000))) throw new Error(`the shim did not answer:\n${output}`);
  const send = async (headers: Record<string, string>, body?: unknown) => {
    const response = await t.context.clients.get(target).request({
      path: '/probe',
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.body.text();
    return { status: response.statusCode, text, json: () => JSON.parse(text) as Answer };
  };
  const init = (given: string | undefined, initEnv: Record<string, string>) =>
    send({ 'x-lambda-internal-invoke': 'init', ...(given === undefined ? {} : { 'x-lambda-internal-secret': given }) }, { env: initEnv });
  return { child, send, init, secret, output: () => output };
}

const functionEnv = (dir: string, name: string, folder = 'task') => ({
  LAMBDA_TASK_ROOT: path.join(dir, folder),
  LAMBDA_HANDLER: 'app.handler',
  LAMBDA_FUNCTION_NAME: name,
  LAMBDA_FUNCTION_VERSION: '3',
  LAMBDA_TIMEOUT_MS: '5000',
  LAMBDA_MEMORY_MB: '128',
  AWS_LAMBDA_FUNCTION_NAME: name,
  GREETING: 'hi',
  TZ: 'Asia/Tokyo',
});

test.serial('a cell serves nothing before its init, takes one init with its secret, then runs as that function only', async (t) => {
  const shim = await start(t, { LAMBDA_CELL: '1' });
  t.is((await shim.send({})).status, 503, 'no function before the init');
  t.is((await shim.send({ 'x-lambda-internal-invoke': 'warm' }, { warm: true })).status, 503, 'a warm-up without the secret is public traffic');
  const warm = await shim.send({ 'x-lambda-internal-invoke': 'warm', 'x-lambda-internal-secret': shim.secret, cookie: 'a=1' }, { warm: true });
  t.is(warm.status, 200, 'the host may warm the request path up, with no function');
  t.deepEqual(JSON.parse(warm.text), { path: '/probe' });
  t.is((await shim.send({})).status, 503, 'a warm-up loads no function');

  // Without the right secret an init is public traffic, which a cell with no function does not serve.
  t.is((await shim.init(undefined, functionEnv(t.context.dir, 'alpha'))).status, 503, 'no secret');
  t.is((await shim.init('b'.repeat(64), functionEnv(t.context.dir, 'alpha'))).status, 503, 'a wrong secret');
  t.is((await shim.init(shim.secret.slice(1), functionEnv(t.context.dir, 'alpha'))).status, 503, 'a secret of another length');
  t.is((await shim.send({})).status, 503, 'refused inits change nothing');

  const init = await shim.init(shim.secret, functionEnv(t.context.dir, 'alpha'));
  t.is(init.status, 200, init.text);
  const answer = await shim.send({});
  t.is(answer.status, 200, answer.text);
  const { env, path: seen, name, tz, remaining, decimal } = answer.json();
  t.is(seen, '/probe');
  t.like(env, { AWS_LAMBDA_FUNCTION_NAME: 'alpha', GREETING: 'hi', HOSTNAME: 'cell-host' });
  t.false('LAMBDA_CELL' in env);
  t.false('LAMBDA_SOCKET_DIR' in env, "the init's env is the whole environment");
  t.false(Object.values(env).includes(shim.secret), 'the secret is in no variable');
  t.is(name, 'alpha', "the context has the init's settings");
  t.true(remaining, "the init's timeout");
  t.is(tz, 'JST', "the function's time zone, as a process started with it");
  t.is(decimal, 'stdlib');

  // A second init, even with the right secret, is refused and the function stays as it was.
  t.is((await shim.init(shim.secret, functionEnv(t.context.dir, 'beta', 'other'))).status, 403);
  t.is((await shim.send({})).json().name, 'alpha');
  t.is((await shim.send({ 'x-lambda-internal-invoke': 'warm', 'x-lambda-internal-secret': shim.secret }, {})).status, 403, 'no warm-up once initialised');

  // SIGTERM stops it as it stops a classic instance, whatever handler the function's module set.
  const exited = new Promise<number | null>((resolve) => shim.child.once('exit', resolve));
  shim.child.kill('SIGTERM');
  t.is(await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 10_000))]), 0);
});

test.serial("a version's own module named as one the cell imported early is the one its handler gets", async (t) => {
  const shim = await start(t, { LAMBDA_CELL: '1' });
  t.is((await shim.init(shim.secret, functionEnv(t.context.dir, 'alpha', 'shadow'))).status, 200);
  t.is((await shim.send({})).json().decimal, "the function's own");
});

test.serial('a cell whose handler cannot load answers its init with the error and exits', async (t) => {
  const shim = await start(t, { LAMBDA_CELL: '1' });
  const exited = new Promise<number | null>((resolve) => shim.child.once('exit', resolve));
  const init = await shim.init(shim.secret, { ...functionEnv(t.context.dir, 'alpha'), LAMBDA_HANDLER: 'missing.handler' });
  t.is(init.status, 500);
  t.regex(init.text, /Unable to import module 'missing'/);
  t.is(await exited, 1);
});

test.serial('a cell given a malformed init answers 400 and exits, serving nothing', async (t) => {
  const shim = await start(t, { LAMBDA_CELL: '1' });
  const exited = new Promise<number | null>((resolve) => shim.child.once('exit', resolve));
  const init = await shim.send({ 'x-lambda-internal-invoke': 'init', 'x-lambda-internal-secret': shim.secret }, { env: { A: 1 } });
  t.is(init.status, 400);
  t.is(await exited, 1);
});

test.serial('a classic instance refuses every init and warm-up, whatever its headers say', async (t) => {
  const shim = await start(t, functionEnv(t.context.dir, 'alpha'));
  t.is((await shim.init(shim.secret, functionEnv(t.context.dir, 'beta', 'other'))).status, 403, 'refused even with its secret');
  t.is((await shim.send({ 'x-lambda-internal-invoke': 'warm', 'x-lambda-internal-secret': shim.secret }, {})).status, 403);
  // Without it, the call is an ordinary request the handler answers.
  for (const secret of [undefined, '']) t.is((await shim.init(secret, functionEnv(t.context.dir, 'beta', 'other'))).json().path, '/probe');
  t.is((await shim.send({})).json().name, 'alpha');
});
