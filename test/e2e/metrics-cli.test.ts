// End to end: a function deployed by git push and called a known number of times with known outcomes, then read back
// with `lambda metrics` (table, --json, one function per version, --since), over SSH, and the same after a restart.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { command, fixture, requireDocker, startLambda, type CommandResult, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;
let keys: string;

interface Figures {
  name?: string;
  invocations: number;
  errors: number;
  errorRate: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  coldStarts: number;
  throttles: number;
  handlerErrors: number;
  timeouts: number;
  crashes: number;
  maxMemoryMb: number | null;
  versions?: ({ version: number; live: boolean } & Figures)[];
}

/**
 * v1: 2 successes by HTTP. v2: 4 successes (1 HTTP, 3 direct), 2 handler errors (1 HTTP 502, 1 direct), 1 timeout,
 * whose instance is replaced: the call after it waits for a new one, the one cold start (a deploy's own instance is not).
 */
const V1 = { invocations: 2, errors: 0, coldStarts: 0 };
const V2 = { invocations: 7, errors: 3, coldStarts: 1 };

test.before(async () => {
  await requireDocker();
  lambda = await startLambda({ LAMBDA_CELLS: '0' });
  keys = fs.mkdtempSync(path.join(lambda.dataDir, 'keys-'));
  const made = await command('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'metrics@test', '-f', path.join(keys, 'id')]);
  if (made.code !== 0) throw new Error(made.stderr);
  const added = await lambda.cli(['keys', 'add', path.join(keys, 'id.pub')]);
  if (added.code !== 0) throw new Error(`keys add: ${added.stderr}`);
  for (const name of ['busy', 'idle']) {
    const pushed = await lambda.push(name, fixture('misbehave'));
    if (pushed.code !== 0) throw new Error(`could not deploy ${name}: ${pushed.stderr}`);
  }
  await expectStatus(lambda.fetch('/fn/busy/'), 200);
  await expectStatus(lambda.fetch('/fn/busy/'), 200);
  const v2 = await lambda.push('busy', fixture('misbehave'), { files: { 'v2.txt': 'two\n' } });
  if (v2.code !== 0) throw new Error(`could not deploy busy v2: ${v2.stderr}`);
  await expectStatus(lambda.fetch('/fn/busy/'), 200);
  await expectStatus(lambda.fetch('/fn/busy/throw'), 502);
  const invoke = (action: string) => lambda.api('/api/v1/functions/busy/invoke', { method: 'POST', body: JSON.stringify({ action }) });
  await expectStatus(invoke('ok'), 200);
  await expectStatus(invoke('ok'), 200);
  await expectStatus(invoke('throw'), 502);
  await expectStatus(invoke('hang'), 504);
  await expectStatus(invoke('ok'), 200);
});

test.after.always(async () => {
  await lambda?.destroy();
});

async function expectStatus(answer: Promise<Response>, status: number): Promise<void> {
  const response = await answer;
  await response.arrayBuffer();
  if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}`);
}

function ssh(remote: string[]): Promise<CommandResult> {
  const options = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-i', path.join(keys, 'id')];
  return command('ssh', [...options, '-p', String(lambda.sshPort), 'lambda@127.0.0.1', ...remote]);
}

async function json<T>(args: string[]): Promise<T> {
  const result = await lambda.cli([...args, '--json']);
  if (result.code !== 0) throw new Error(`lambda ${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/**
 * The server writes its per-minute rows every few seconds: `busy` is read until all of its calls are there (each
 * read is a full answer; only when it is complete depends on that flush).
 */
async function settled(): Promise<Figures[]> {
  // Not a speed bound: a guard so that calls never recorded fail with what was read instead of hanging.
  const giveUp = Date.now() + 60_000;
  for (;;) {
    const all = await json<Figures[]>(['metrics']);
    if (all.find((fn) => fn.name === 'busy')?.invocations === V1.invocations + V2.invocations || Date.now() > giveUp) return all;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

test.serial('lambda metrics: every function, its counts, errors, rate and percentiles; --json by the API names', async (t) => {
  const all = await settled();
  t.deepEqual(all.map((fn) => fn.name), ['busy', 'idle']);
  const [busy, idle] = all as [Figures, Figures];
  t.deepEqual(Object.keys(busy), ['name', 'invocations', 'errors', 'errorRate', 'p50Ms', 'p95Ms', 'p99Ms', 'coldStarts', 'throttles', 'handlerErrors', 'timeouts', 'crashes', 'maxMemoryMb']);
  t.like(busy, { invocations: 9, errors: 3, errorRate: 0.3333, coldStarts: 1, throttles: 0, handlerErrors: 2, timeouts: 1, crashes: 0 });
  t.true(typeof busy.p50Ms === 'number' && typeof busy.p99Ms === 'number' && (busy.p50Ms as number) <= (busy.p99Ms as number));
  // The timeout ran for the whole of its 1.5 s: the slowest call bounds p99 from below.
  t.true((busy.p99Ms as number) >= 1000, `p99 ${busy.p99Ms}`);
  t.deepEqual(idle, { name: 'idle', invocations: 0, errors: 0, errorRate: 0, p50Ms: null, p95Ms: null, p99Ms: null, coldStarts: 0, throttles: 0, handlerErrors: 0, timeouts: 0, crashes: 0, maxMemoryMb: null });

  const table = await lambda.cli(['metrics']);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^last 1h \(since \d{4}-\d\d-\d\d \d\d:\d\d UTC\)\n\nNAME\s+INVOCATIONS\s+ERRORS\s+ERROR RATE\s+P50\s+P95\s+P99\s+COLD STARTS\s+THROTTLES$/m);
  t.regex(table.stdout, /^busy\s+9\s+3\s+33\.3%\s+\S+ms\s+\S+\s+\S+s\s+1\s+0$/m);
  t.regex(table.stdout, /^idle\s+0\s+0\s+0\.0%\s+-\s+-\s+-\s+0\s+0$/m);
});

test.serial('lambda metrics NAME: its total, then each version with the live one marked', async (t) => {
  await settled();
  const busy = await json<Figures>(['metrics', 'busy']);
  t.like(busy, { name: 'busy', invocations: 9, errors: 3, coldStarts: 1 });
  t.deepEqual(busy.versions?.map((v) => [v.version, v.live, v.invocations, v.errors, v.coldStarts]), [
    [2, true, V2.invocations, V2.errors, V2.coldStarts],
    [1, false, V1.invocations, V1.errors, V1.coldStarts],
  ]);
  const table = await lambda.cli(['metrics', 'busy']);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^busy, last 1h \(since .* UTC\)\n\n {2}VERSION\s+INVOCATIONS\s+ERRORS\s+ERROR RATE\s+P50\s+P95\s+P99\s+COLD STARTS\s+THROTTLES\s+HANDLER\s+TIMEOUTS\s+CRASHES\s+MAX MEMORY$/m);
  t.regex(table.stdout, /^ {2}total\s+9\s+3\s+33\.3%/m);
  // v2's errors by kind: 2 handler errors, 1 timeout, no crash; the node20 shim reports its memory.
  t.regex(table.stdout, /^\* v2\s+7\s+3\s+42\.9%(\s+\S+){5}\s+2\s+1\s+0\s+\d+ MB$/m);
  t.regex(table.stdout, /^ {2}v1\s+2\s+0\s+0\.0%/m);
  const extra = await lambda.cli(['metrics', 'busy', 'extra']);
  t.is(extra.code, 2);
  t.regex(extra.stderr, /too many arguments: "extra"/);
});

test.serial('--since: a longer window holds the same calls, one that starts after them none; a bad one exits 2', async (t) => {
  await settled();
  t.is((await json<Figures>(['metrics', 'busy', '--since', '24h'])).invocations, 9);
  const later = await json<Figures[]>(['metrics', '--since', new Date().toISOString()]);
  t.deepEqual(later.map((fn) => fn.invocations), [0, 0]);
  const bad = await lambda.cli(['metrics', '--since', 'forever']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /since: expected a duration .*LAMBDA_ERR_BAD_REQUEST/);
  const far = await lambda.cli(['metrics', 'busy', '--since', '30d']);
  t.is(far.code, 2);
});

test.serial('over SSH: the same table and JSON', async (t) => {
  const local = await settled();
  const remote = await ssh(['metrics', '--json']);
  t.is(remote.code, 0, remote.stderr);
  t.deepEqual(JSON.parse(remote.stdout), local);
  const one = await ssh(['metrics', 'busy']);
  t.is(one.code, 0, one.stderr);
  t.is(one.stdout, (await lambda.cli(['metrics', 'busy'])).stdout);
  const bad = await ssh(['metrics', '--since', 'forever']);
  t.is(bad.code, 2);
});

test.serial('after a restart the figures are the same', async (t) => {
  const before = await settled();
  const beforeOne = await json<Figures>(['metrics', 'busy']);
  await lambda.restart('SIGTERM');
  t.deepEqual(await json<Figures[]>(['metrics']), before);
  t.deepEqual(await json<Figures>(['metrics', 'busy']), beforeOne);
});
