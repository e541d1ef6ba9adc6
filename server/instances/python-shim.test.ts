// The python3 shim, run as a plain process (no Docker) against the host end of its socket: it dials in, answers
// health checks, direct invokes and HTTP requests (chunked bodies, several per connection, several at once), refuses
// cell calls, and sends START/END/REPORT and the function's output to log.sock.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import anyTest, { type TestFn } from 'ava';
import { InstanceClients } from './requests/client.js';

const SHIM = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../buildpacks/python3/shim');
const HANDLER = [
  'import os',
  'import subprocess',
  'import sys',
  'import threading',
  '# Three calls meet here: they pass only if the shim serves them at the same time.',
  'meeting = threading.Barrier(3, timeout=5)',
  'def handler(event, context):',
  '    print("seen", event.get("rawPath") if isinstance(event, dict) and "rawPath" in event else event)',
  '    if isinstance(event, dict) and event.get("body") == "slow":',
  '        meeting.wait()',
  '    if event == {"descriptors": True}:',
  '        os.write(1, b"written to fd 1\\n")',
  '        sys.stderr.buffer.write(b"bytes to stderr\\n")',
  '        subprocess.run(["echo", "from a child process"], check=True)',
  '    if event == {"fail": True} or (isinstance(event, dict) and event.get("rawPath") == "/fail"):',
  '        raise KeyError("missing")',
  '    return {"event": event, "request": context.aws_request_id}',
  '',
].join('\n');

let python: string | undefined;
try {
  python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
} catch {
  python = undefined;
}

const test = anyTest as TestFn<{ dir: string; clients: InstanceClients; child?: ChildProcess; logs: string[]; logServer?: net.Server }>;
const id = 'pyshimpyshim';

test.beforeEach((t) => {
  t.context.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-pyshim-'));
  t.context.clients = new InstanceClients();
  t.context.logs = [];
  fs.mkdirSync(path.join(t.context.dir, 'task'));
  fs.writeFileSync(path.join(t.context.dir, 'task', 'app.py'), HANDLER);
});

test.afterEach.always(async (t) => {
  t.context.child?.kill('SIGKILL');
  t.context.logServer?.close();
  await t.context.clients.destroy(id);
  fs.rmSync(t.context.dir, { recursive: true, force: true });
});

async function start(t: { context: { dir: string; clients: InstanceClients; child?: ChildProcess; logs: string[]; logServer?: net.Server } }) {
  if (!python) throw new Error('python3 is not installed');
  const socketDir = path.join(t.context.dir, 'run');
  fs.mkdirSync(socketDir);
  const target = { id, socketPath: path.join(socketDir, 'host.sock') };
  t.context.clients.link(target);
  let partial = '';
  t.context.logServer = net.createServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      t.context.logs.push(...lines);
    });
  });
  await new Promise<void>((resolve) => t.context.logServer?.listen(path.join(socketDir, 'log.sock'), resolve));
  let output = '';
  const child = spawn(python, ['-I', '-B', SHIM], {
    env: { LAMBDA_SOCKET_DIR: socketDir, LAMBDA_TASK_ROOT: path.join(t.context.dir, 'task'), LAMBDA_HANDLER: 'app.handler', LAMBDA_FUNCTION_VERSION: '7', LAMBDA_TIMEOUT_MS: '5000' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // The secret comes on stdin, as the host writes it at a container's start (server/engine/containers.ts).
  child.stdin.end(`${t.context.clients.secretOf(id)}\n`);
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  t.context.child = child;
  if (!(await t.context.clients.healthy(target, 10_000))) throw new Error(`the shim did not answer:\n${output}`);
  const send = async (options: { method?: 'GET' | 'POST'; path?: string; headers?: Record<string, string>; body?: string | Readable }) => {
    const response = await t.context.clients.get(target).request({ path: options.path ?? '/', method: options.method ?? 'GET', headers: options.headers ?? {}, body: options.body });
    return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
  };
  return { send };
}

async function waitForLog(logs: string[], pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!logs.some((line) => pattern.test(line))) {
    if (Date.now() > deadline) throw new Error(`no log line matched ${pattern}:\n${logs.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test.serial('direct invokes, errors and HTTP requests, with chunked bodies and concurrent calls, over dialled connections', async (t) => {
  const { send } = await start(t);
  const secret = { 'x-lambda-internal-secret': t.context.clients.secretOf(id) };
  const direct = await send({ method: 'POST', headers: { ...secret, 'x-lambda-internal-invoke': 'direct', 'x-lambda-internal-request-id': 'req-1' }, body: '{"a":1}' });
  t.is(direct.status, 200);
  t.deepEqual(JSON.parse(direct.text), { event: { a: 1 }, request: 'req-1' });

  // Without the instance's secret, a call marked direct is public traffic: the handler gets an HTTP event.
  for (const forged of [{}, { 'x-lambda-internal-secret': 'f'.repeat(64) }] as Record<string, string>[]) {
    const posing = await send({ method: 'POST', headers: { ...forged, 'x-lambda-internal-invoke': 'direct', 'x-lambda-internal-request-id': 'forged' }, body: '{"a":1}' });
    t.is(posing.status, 200);
    const seen = JSON.parse(posing.text) as { event: { rawPath?: string }; request: string };
    t.is(seen.event.rawPath, '/');
    t.not(seen.request, 'forged');
  }

  const failed = await send({ method: 'POST', headers: { ...secret, 'x-lambda-internal-invoke': 'direct' }, body: '{"fail":true}' });
  t.is(failed.status, 502);
  t.is(failed.headers['x-lambda-internal-error'], 'Unhandled');
  t.deepEqual(JSON.parse(failed.text), { errorType: 'KeyError', errorMessage: "'missing'" });

  // An HTTP request of the host's (a queued public call) learns the handler's error too; a public caller only that it failed.
  const queued = await send({ method: 'POST', path: '/fail', headers: { ...secret, 'x-lambda-internal-request-id': 'req-q' }, body: '' });
  t.is(queued.status, 502);
  t.is(queued.headers['x-lambda-internal-error'], 'Unhandled');
  t.deepEqual(JSON.parse(queued.text), { errorType: 'KeyError', errorMessage: "'missing'" });
  const anonymous = await send({ method: 'POST', path: '/fail', headers: {}, body: '' });
  t.is(anonymous.status, 502);
  t.is(anonymous.headers['x-lambda-internal-error'], undefined);
  t.is((JSON.parse(anonymous.text) as { message: string }).message, 'Internal Server Error');

  // A streamed body arrives chunked.
  const chunked = await send({ method: 'POST', path: '/up?x=1', headers: { 'content-type': 'text/plain' }, body: Readable.from(['hel', 'lo']) });
  t.is(chunked.status, 200);
  const event = (JSON.parse(chunked.text) as { event: { body: string; rawPath: string; queryStringParameters: Record<string, string> } }).event;
  t.is(event.body, 'hello');
  t.is(event.rawPath, '/up');
  t.deepEqual(event.queryStringParameters, { x: '1' });

  // Several at once: each on its own connection, served by its own thread (the handler waits for all three).
  const answers = await Promise.all([1, 2, 3].map(() => send({ method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'slow' })));
  t.deepEqual(answers.map((answer) => answer.status), [200, 200, 200]);

  const descriptors = await send({ method: 'POST', headers: { ...secret, 'x-lambda-internal-invoke': 'direct' }, body: '{"descriptors":true}' });
  t.is(descriptors.status, 200);
  await waitForLog(t.context.logs, /^\d+\to\twritten to fd 1$/);
  await waitForLog(t.context.logs, /^\d+\te\tbytes to stderr$/);
  await waitForLog(t.context.logs, /^\d+\to\tfrom a child process$/);

  for (const mode of ['init', 'warm']) t.is((await send({ headers: { ...secret, 'x-lambda-internal-invoke': mode } })).status, 403);

  await waitForLog(t.context.logs, /\tp\tREPORT RequestId: req-1\tDuration: [\d.]+ ms\t.*Init Duration: [\d.]+ ms\tStatus: success$/);
  await waitForLog(t.context.logs, /\te\t\[ERROR\] KeyError: 'missing'$/);
  t.true(t.context.logs.some((line) => /^\d+\tp\tSTART RequestId: req-1 Version: 7$/.test(line)));
  t.true(t.context.logs.some((line) => /^\d+\to\tseen \{'a': 1\}$/.test(line)));
});

test.serial("the shim's own modules stay out of the function's imports: a module of the function may share a name with one", async (t) => {
  fs.writeFileSync(path.join(t.context.dir, 'task', 'wire.py'), "WHO = 'the function'\n");
  fs.writeFileSync(
    path.join(t.context.dir, 'task', 'app.py'),
    ['import sys', 'import wire', 'def handler(event, context):', "    return {'wire': wire.WHO, 'path': sys.path}", ''].join('\n'),
  );
  const { send } = await start(t);
  const answer = await send({ method: 'POST', headers: { 'x-lambda-internal-secret': t.context.clients.secretOf(id), 'x-lambda-internal-invoke': 'direct' }, body: '{}' });
  t.is(answer.status, 200);
  const seen = JSON.parse(answer.text) as { wire: string; path: string[] };
  t.is(seen.wire, 'the function');
  t.is(seen.path[0], path.join(t.context.dir, 'task'), 'the task folder comes first');
  t.false(seen.path.some((entry) => path.resolve(entry).startsWith(SHIM)), `the shim's folder is not on sys.path: ${seen.path.join(', ')}`);
});

test.serial('a host that goes away costs no more threads than the spare connections, and the shim dials back in when it returns', async (t) => {
  await start(t);
  const pid = t.context.child?.pid as number;
  const threads = () => fs.readdirSync(`/proc/${pid}/task`).length;
  const before = threads();
  // The host closes its listener and every idle connection, as a server that stops does; the shim keeps dialling.
  await t.context.clients.destroy(id);
  const seen: number[] = [];
  for (let i = 0; i < 30; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    seen.push(threads());
  }
  t.true(Math.max(...seen) <= before, `threads while the host was away: ${seen.join(' ')} (before: ${before})`);
  const target = { id, socketPath: path.join(t.context.dir, 'run', 'host.sock') };
  t.context.clients.link(target);
  t.true(await t.context.clients.healthy(target, 10_000), 'it dialled the new listener');
});
