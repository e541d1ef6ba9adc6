// End to end: many functions at once. 30 distinct idle functions called together twice: the first burst grows the
// pool, the second is answered from cells; a wave of schedules on one cron time is warmed ahead, each firing a
// cell start. A cell start shows as a container labelled lambda.cell serving the function.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { command, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

const HANDLER = 'export const handler = async (event) => ({ fn: process.env.AWS_LAMBDA_FUNCTION_NAME, path: event.rawPath });\n';
const b64 = (text: string) => Buffer.from(text).toString('base64');

interface Container {
  cell: string;
  fn: string;
}

/** Every container of `lambda`'s installation: whether it was a cell, and the function it serves ('' while it waits). */
async function containers(lambda: Lambda): Promise<Container[]> {
  const tasks = path.join(lambda.dataDir, 'data', 'cells', 'tasks');
  const servedBy = (instance: string): string => {
    try {
      return (JSON.parse(fs.readFileSync(path.join(tasks, `${instance}.json`), 'utf8')) as { fn: string }).fn;
    } catch {
      return '';
    }
  };
  const format = '{{.State}}|{{.Label "lambda.cell"}}|{{.Label "lambda.instance"}}|{{.Label "lambda.function"}}';
  const { stdout } = await command('docker', ['ps', '--filter', `label=lambda.server=${lambda.serverId()}`, '--format', format]);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [, cell, instance, label] = line.split('|');
      return { cell, fn: label || (cell ? servedBy(instance) : '') };
    });
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!ok(value)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    value = await probe();
  }
  return value;
}

/** Registers `names` over REST (quicker than pushes), a few at a time. */
async function register(lambda: Lambda, names: string[]): Promise<void> {
  const queue = [...names];
  const worker = async () => {
    for (let name = queue.shift(); name; name = queue.shift()) {
      const body = { runtime: 'node20', handler: 'index.handler', idleTimeout: '2s', files: { 'index.mjs': b64(HANDLER) } };
      const res = await lambda.api(`/api/v1/functions/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status >= 300) throw new Error(`registering ${name}: ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
}

/** Waits until none of `names` has an instance (each stopped idle). */
const allIdle = (lambda: Lambda, names: string[]) => until('every function to stop', () => containers(lambda), (list) => !list.some((c) => names.includes(c.fn)));
const waiting = async (lambda: Lambda) => (await containers(lambda)).filter((c) => c.cell === 'node20' && c.fn === '').length;

/** One request to each of `names`, all at once: statuses and times. */
async function burst(lambda: Lambda, names: string[]): Promise<{ statuses: number[]; ms: number[] }> {
  const answers = await Promise.all(
    names.map(async (name) => {
      const began = performance.now();
      const response = await lambda.fetch(`/fn/${name}/hello`);
      await response.arrayBuffer();
      return { status: response.status, ms: performance.now() - began };
    }),
  );
  return { statuses: answers.map((a) => a.status), ms: answers.map((a) => Math.round(a.ms)).sort((a, b) => a - b) };
}

test.before(async () => {
  await requireDocker();
});

test.serial('30 idle functions called at once twice: every call answered, and the second burst from cells', async (t) => {
  const lambda = await startLambda({ LAMBDA_CELLS: '2' });
  try {
    const names = Array.from({ length: 30 }, (_, i) => `burst-${String(i).padStart(2, '0')}`);
    await register(lambda, names);
    await allIdle(lambda, names);
    const first = await burst(lambda, names);
    t.deepEqual(first.statuses, names.map(() => 200));
    t.log(`first burst ms: p50 ${first.ms[14]}, max ${first.ms[29]}`);
    await allIdle(lambda, names);
    // The pool grew to the burst it saw, within its budget.
    await until('the pool to grow to the burst', () => waiting(lambda), (count) => count >= 30);
    // A running cell is not booted yet: give the last shims time to dial in.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const second = await burst(lambda, names);
    t.deepEqual(second.statuses, names.map(() => 200));
    t.log(`second burst ms: p50 ${second.ms[14]}, max ${second.ms[29]}`);
    const serving = (await containers(lambda)).filter((c) => names.includes(c.fn));
    t.is(serving.length, 30);
    t.deepEqual(
      serving.filter((c) => c.cell !== 'node20').map((c) => c.fn),
      [],
      'every function of the second burst runs in a cell',
    );
  } finally {
    await lambda.destroy();
  }
});

test.serial('a wave of schedules on one cron time: each firing is a cell start, warmed ahead', async (t) => {
  const lambda = await startLambda({ LAMBDA_CELLS: '2', LAMBDA_SCHEDULE_WARM: '5s' });
  try {
    const names = Array.from({ length: 10 }, (_, i) => `wave-${i}`);
    await register(lambda, names);
    // A restart forgets the deploys' cold starts: the pool is back to its floor, so only warming can ready ten cells.
    await lambda.restart('SIGTERM');
    await allIdle(lambda, names);
    t.true((await waiting(lambda)) <= 2, 'the pool is at its floor before the wave');
    // One cron time 12 s from now (seconds-field cron), far enough ahead for the 5 s warming.
    const at = new Date(Math.ceil((Date.now() + 12_000) / 1000) * 1000);
    const cron = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
    for (const name of names) {
      const res = await lambda.api(`/api/v1/functions/${name}/schedules`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cron }) });
      t.is(res.status, 201, await res.text());
    }
    const serving = await until('every firing to start its function', () => containers(lambda), (list) => names.every((name) => list.some((c) => c.fn === name)), 60_000);
    t.deepEqual(
      serving.filter((c) => names.includes(c.fn) && c.cell !== 'node20').map((c) => c.fn),
      [],
      'every firing ran in a cell',
    );
  } finally {
    await lambda.destroy();
  }
});

/** The pool's gauge for node20 cells in `state` (ready, starting, wanted), as /metrics says. */
async function cellsGauge(lambda: Lambda, state: string): Promise<number> {
  const text = await (await lambda.api('/metrics')).text();
  return Number(new RegExp(`^lambda_cells\\{runtime="node20",state="${state}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? -1);
}

test.serial('a schedule firing every second holds one cell at most, not one per firing', async (t) => {
  const lambda = await startLambda({ LAMBDA_CELLS: '2', LAMBDA_SCHEDULE_WARM: '5s' });
  try {
    // Short idle time: between firings the function may have no instance, so every firing asks for a cell.
    const body = { runtime: 'node20', handler: 'index.handler', idleTimeout: '100ms', schedules: [{ cron: '* * * * * *' }], files: { 'index.mjs': b64(HANDLER) } };
    const res = await lambda.api('/api/v1/functions/ticker', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    t.is(res.status, 201, await res.text());
    // Each firing reserves a cell until 10 s past its time: counted per firing, eleven would be wanted at once.
    const wanted: number[] = [];
    for (let i = 0; i < 15; i++) {
      wanted.push(await cellsGauge(lambda, 'wanted'));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    t.true(wanted.every((n) => n >= 2 && n <= 3), `wanted: ${wanted.join(',')}`);
  } finally {
    await lambda.destroy();
  }
});
