// The node20 shim's output capture, run as a plain process (no Docker) against the real host ends: its host.sock
// (InstanceClients) and log.sock (InstanceLogSockets) into a real log store. START/END/REPORT, stderr, errors,
// timeouts, partial writes, a process.exit, the start-up tee, and dropping (counted) when the host reads slowly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { createLogStore, type LogStore } from '../server/logs/store.js';
import type { LogLine } from '../server/logs/format.js';
import { InstanceClients } from '../server/instances/requests/client.js';
import { InstanceLogSockets } from '../server/instances/log-socket.js';
import { fixture } from './helpers/lambda.js';
import { startNodeShim } from './helpers/node-shim.js';

interface Shim {
  child: ChildProcess;
  stdout(): string;
  call(pathname: string): Promise<{ status: number; body: string }>;
  lines(): Promise<LogLine[]>;
  waitFor(predicate: (lines: LogLine[]) => boolean): Promise<LogLine[]>;
}

const test = anyTest as TestFn<{ dir: string; store: LogStore; sockets: InstanceLogSockets; clients: InstanceClients; children: ChildProcess[] }>;
const INSTANCE = { id: 'abcdefabcdef', fn: 'logger', sha: 'f'.repeat(40) };

test.beforeEach((t) => {
  t.context.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-shim-'));
  t.context.children = [];
  t.context.clients = new InstanceClients();
});

test.afterEach.always(async (t) => {
  for (const child of t.context.children) child.kill('SIGKILL');
  t.context.sockets?.closeAll();
  await t.context.clients.destroy(INSTANCE.id);
  t.context.store?.close();
  fs.rmSync(t.context.dir, { recursive: true, force: true });
});

async function startShim(t: ExecutionContext<typeof test extends TestFn<infer C> ? C : never>, options: { rate?: number; env?: Record<string, string> } = {}): Promise<Shim> {
  const { dir, clients } = t.context;
  // Large enough that nothing a test writes is rotated away.
  t.context.store = createLogStore({ dir: path.join(dir, 'logs'), fileBytes: 16 * 1024 * 1024, files: 2, builds: 1, buildBytes: 1024 });
  t.context.sockets = new InstanceLogSockets(t.context.store, { ratePerSecond: options.rate ?? 8 * 1024 * 1024, versionOf: () => undefined });
  const instanceDir = path.join(dir, 'instance');
  fs.mkdirSync(instanceDir);
  const instance = { ...INSTANCE, socketPath: path.join(instanceDir, 'host.sock') };
  clients.link(instance);
  t.context.sockets.open(instance, 7);
  // The secret comes on stdin, as the host writes it at a container's start (server/engine/containers.ts).
  const { child, output: stdout } = startNodeShim(
    instanceDir,
    {
      LAMBDA_TASK_ROOT: fixture('logger'),
      LAMBDA_HANDLER: 'index.handler',
      LAMBDA_FUNCTION_NAME: 'logger',
      LAMBDA_FUNCTION_VERSION: '7',
      LAMBDA_TIMEOUT_MS: '10000',
      LAMBDA_MEMORY_MB: '128',
      ...options.env,
    },
    clients.secretOf(instance.id),
  );
  t.context.children.push(child);
  if (!(await clients.healthy(instance, 10_000))) throw new Error(`the shim did not answer:\n${stdout()}`);
  const store = t.context.store;
  const lines = async () => {
    const all: LogLine[] = [];
    for await (const batch of store.read('logger', {})) all.push(...batch);
    return all;
  };
  return {
    child,
    stdout,
    async call(pathname) {
      // As the dispatcher does: the instance may log one START (then END and REPORT) per request the host sent it.
      t.context.sockets.sent(instance.id);
      const response = await clients.get(instance).request({ path: pathname, method: 'GET', headers: { 'x-lambda-internal-request-id': `req-${pathname}`, 'x-lambda-internal-secret': clients.secretOf(instance.id) } });
      return { status: response.statusCode, body: await response.body.text() };
    },
    lines,
    async waitFor(predicate) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const now = await lines();
        if (predicate(now)) return now;
        if (Date.now() > deadline) throw new Error(`not seen in time; the log ends with:\n${now.slice(-10).map((line) => line.text.slice(0, 120)).join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

const texts = (lines: LogLine[]) => lines.map((line) => line.text);

test('a request gives START, its output and END/REPORT, stamped with the instance and version', async (t) => {
  const shim = await startShim(t);
  t.deepEqual(await shim.call('/?mark=one'), { status: 200, body: '{"ok":true}' });
  await shim.call('/?mark=two');
  const lines = await shim.waitFor((all) => all.filter((line) => line.text.startsWith('REPORT')).length === 2);
  t.deepEqual(texts(lines).slice(0, 4), ['logger loaded', 'START RequestId: req-/?mark=one Version: 7', 'hello one', 'END RequestId: req-/?mark=one']);
  t.true(lines.every((line) => line.instance === INSTANCE.id && line.version === 7));
  t.deepEqual([...new Set(lines.map((line) => line.stream))].sort(), ['out', 'platform']);
  const [first, second] = lines.filter((line) => line.text.startsWith('REPORT'));
  t.regex(first?.text ?? '', /^REPORT RequestId: req-\/\?mark=one\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms\tStatus: success$/);
  t.notRegex(second?.text ?? '', /Init Duration/, 'only the first invocation reports the init');
  // Until the handler loaded, output also went to the container's own log; requests' output never does.
  t.regex(shim.stdout(), /logger loaded/);
  t.notRegex(shim.stdout(), /hello|START/);
});

test('stderr, a thrown error (logged before END, Status: error), a line written in pieces, writes to descriptors 1 and 2', async (t) => {
  const shim = await startShim(t);
  await shim.call('/err?mark=e1');
  t.is((await shim.call('/throw?mark=boom')).status, 502);
  await shim.call('/partial');
  await shim.call('/fd?mark=f');
  const lines = await shim.waitFor((all) => texts(all).includes('no newline at the end') && texts(all).includes('via fd 2 f'));
  t.like(lines.find((line) => line.text === 'via fd 1 f'), { stream: 'out' });
  t.like(lines.find((line) => line.text === 'via fd 2 f'), { stream: 'err' });
  t.like(lines.find((line) => line.text === 'to stderr e1'), { stream: 'err' });
  const thrown = texts(lines).slice(texts(lines).indexOf('START RequestId: req-/throw?mark=boom Version: 7'));
  t.regex(thrown[1] ?? '', /^ERROR\tInvoke Error\t.*thrown boom/);
  t.is(thrown[2], 'END RequestId: req-/throw?mark=boom');
  t.regex(thrown[3] ?? '', /Status: error$/);
});

test('a handler past its timeout is reported as timed out', async (t) => {
  const shim = await startShim(t, { env: { LAMBDA_TIMEOUT_MS: '300' } });
  void shim.call('/hang').catch(() => {});
  const lines = await shim.waitFor((all) => texts(all).some((text) => text.includes('Status: timeout')));
  t.true(texts(lines).some((text) => /^\S+Z req-\/hang Task timed out after 0\.30 seconds$/.test(text)));
});

test('what a handler wrote just before process.exit still arrives', async (t) => {
  const shim = await startShim(t);
  const exited = new Promise((resolve) => shim.child.once('exit', resolve));
  await shim.call('/exit?mark=last').catch(() => undefined);
  t.is(await exited, 2);
  const lines = await shim.waitFor((all) => texts(all).includes('exiting last'));
  t.true(texts(lines).includes('exiting last'));
});

test('a function that writes faster than the host takes has lines dropped and counted, and keeps serving', async (t) => {
  const rate = 512 * 1024;
  const shim = await startShim(t, { rate });
  const started = Date.now();
  const flood = await shim.call('/flood?ms=1500');
  t.is(flood.status, 200);
  const written = (JSON.parse(flood.body) as { count: number }).count;
  t.deepEqual(await shim.call('/silent'), { status: 200, body: '{"ok":true}' });
  // While the backlog drains, new lines are dropped too; once it has, they are kept again.
  let probes = 0;
  let lines = await shim.lines();
  while (!texts(lines).includes(`hello probe-${probes}`) && probes < 60) {
    probes += 1;
    t.is((await shim.call(`/?mark=probe-${probes}`)).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 250));
    lines = await shim.lines();
  }
  lines = await shim.waitFor((all) => texts(all).some((text) => text.startsWith(`REPORT RequestId: req-/?mark=probe-${probes}`)));
  // The host never took much more than its rate allows (one second of burst, one chunk in flight).
  t.true(t.context.store.bytes('logger') <= rate * (2 + (Date.now() - started) / 1000) + 256 * 1024);
  // Every line is either kept or counted as dropped (some of the other requests' lines may be among those).
  const kept = lines.filter((line) => line.text.startsWith('flood ')).length;
  const dropped = lines.reduce((sum, line) => sum + Number(/^\[lambda\] (\d+) lines dropped/.exec(line.text)?.[1] ?? 0), 0);
  t.true(dropped > 0, `${kept} of ${written} lines kept`);
  t.true(kept + dropped >= written && kept + dropped <= written + 4 * (probes + 2), `${kept} kept + ${dropped} dropped vs ${written} written`);
});
