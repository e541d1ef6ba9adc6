// End to end: cron schedules from lambda.yaml and from `lambda schedule`, fired through the live version
// (waking a function scaled to zero), overlap skip, manifest schedules following the live version (rollback too), bad crons
// refused at push and at the CLI naming the field, no duplicate firing across a redeploy and a SIGKILL restart, and
// firings missed while the server was down logged as missed.
import test from 'ava';
import { fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

interface Schedule {
  id: string;
  source: string;
  cron: string;
  payload: unknown;
  overlap: string;
}

const BASE = 'runtime: node20\nhandler: index.handler\ntimeout: 10s\n';
let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
});

test.after.always(async () => {
  await lambda?.destroy();
});

async function logLines(name: string): Promise<string[]> {
  const response = await lambda.api(`/api/v1/functions/${name}/logs?tail=0`);
  return (await response.text()).split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { text: string }).text);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function deploy(name: string, manifest: string): Promise<void> {
  const push = await lambda.push(name, fixture('jobs'), { files: { 'lambda.yaml': manifest } });
  if (push.code !== 0) throw new Error(`could not deploy ${name}: ${push.stderr}`);
}

async function schedulesOf(name: string): Promise<Schedule[]> {
  const result = await lambda.cli(['--json', 'schedules', name]);
  if (result.code !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as Schedule[];
}

/** The times a schedule's ticks were printed for, from the handler's own output. */
async function ticks(name: string, id: string): Promise<string[]> {
  return (await logLines(name)).filter((line) => line.startsWith(`tick ${id} `)).map((line) => line.split(' ')[2] as string);
}

test.serial('a bad cron is refused at push, naming the key, the field and the line; the live version is kept', async (t) => {
  await deploy('ticker', BASE);
  const push = await lambda.push('ticker', fixture('jobs'), { files: { 'lambda.yaml': `${BASE}schedules:\n  - cron: "61 * * * *"\n` } });
  t.not(push.code, 0);
  t.regex(push.stderr, /line 5: schedules\[0\]\.cron: .*minute/);
  const shell = await lambda.push('ticker', fixture('jobs'), { files: { 'lambda.yaml': `${BASE}schedules:\n  - cron: "* * * * $(id)"\n` } });
  t.not(shell.code, 0);
  t.regex(shell.stderr, /schedules\[0\]\.cron/);
  t.deepEqual(await schedulesOf('ticker'), []);
});

test.serial('a bad cron is refused at the CLI with exit 2, naming the field', async (t) => {
  const hour = await lambda.cli(['schedule', 'ticker', '--cron', '* 99 * * *']);
  t.is(hour.code, 2);
  t.regex(hour.stderr, /hour.*\(LAMBDA_ERR_BAD_CRON\)/);
  const fields = await lambda.cli(['schedule', 'ticker', '--cron', '* * *']);
  t.is(fields.code, 2);
  t.regex(fields.stderr, /expected 5 fields/);
  const injection = await lambda.cli(['schedule', 'ticker', '--cron', '* * * * ; rm -rf /']);
  t.is(injection.code, 2);
  const payload = await lambda.cli(['schedule', 'ticker', '--cron', '* * * * *', '--payload', '{nope']);
  t.is(payload.code, 2);
  const name = await lambda.cli(['schedule', '../ticker', '--cron', '* * * * *']);
  t.is(name.code, 2);
  const missing = await lambda.cli(['schedule', 'nobody', '--cron', '* * * * *']);
  t.is(missing.code, 4);
  t.deepEqual(await schedulesOf('ticker'), [], 'nothing refused was stored');
});

test.serial('a CLI schedule sends the EventBridge-style event, is listed, and stops when removed', async (t) => {
  const added = await lambda.cli(['--json', 'schedule', 'ticker', '--cron', '*/1 * * * * *']);
  t.is(added.code, 0, added.stderr);
  const schedule = JSON.parse(added.stdout) as Schedule;
  t.like(schedule, { source: 'cli', cron: '*/1 * * * * *', payload: null, overlap: 'skip' });
  const seen = await until('two ticks', async () => ((await ticks('ticker', schedule.id)).length >= 2 ? ticks('ticker', schedule.id) : undefined));
  for (const time of seen) t.regex(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.true((await logLines('ticker')).includes(`tick ${schedule.id} ${seen[0]} */1 * * * * *`));
  t.true((await logLines('ticker')).some((line) => line.startsWith(`[lambda] schedule ${schedule.id} (cron "*/1 * * * * *") fired for `)), 'the firing is in the function log');
  const table = await lambda.cli(['schedules', 'ticker']);
  t.regex(table.stdout, new RegExp(`${schedule.id}\\s+cli\\s+\\*/1 \\* \\* \\* \\* \\*\\s+skip`));
  const removed = await lambda.cli(['unschedule', 'ticker', schedule.id]);
  t.is(removed.code, 0, removed.stderr);
  const count = (await ticks('ticker', schedule.id)).length;
  await sleep(3_000);
  t.true((await ticks('ticker', schedule.id)).length <= count + 1, 'no firing after unschedule (one in flight at most)');
  const again = await lambda.cli(['unschedule', 'ticker', schedule.id]);
  t.is(again.code, 4);
  t.regex(again.stderr, /LAMBDA_ERR_SCHEDULE_NOT_FOUND/);
});

test.serial('lambda.yaml schedules follow the live version; CLI schedules persist across deploys; yaml ones cannot be unscheduled', async (t) => {
  const cli = JSON.parse((await lambda.cli(['--json', 'schedule', 'ticker', '--cron', '0 0 1 1 *', '--payload', '{"mark":"yearly"}'])).stdout) as Schedule;
  await deploy('ticker', `${BASE}schedules:\n  - cron: "0 3 * * *"\n    payload: { mark: nightly }\n`);
  let list = await schedulesOf('ticker');
  t.deepEqual(list.map((s) => [s.source, s.cron]).sort(), [['cli', '0 0 1 1 *'], ['manifest', '0 3 * * *']]);
  const nightly = list.find((s) => s.source === 'manifest') as Schedule;
  t.deepEqual(nightly.payload, { mark: 'nightly' });
  const refused = await lambda.cli(['unschedule', 'ticker', nightly.id]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /LAMBDA_ERR_SCHEDULE_IN_MANIFEST/);
  // The same schedule in the next version keeps its id (and its last firing).
  await deploy('ticker', `${BASE}memory: 128Mi\nschedules:\n  - cron: "0 3 * * *"\n    payload: { mark: nightly }\n`);
  t.deepEqual((await schedulesOf('ticker')).find((s) => s.source === 'manifest')?.id, nightly.id);
  await deploy('ticker', BASE);
  list = await schedulesOf('ticker');
  t.deepEqual(list.map((s) => s.id), [cli.id]);
  // A rollback brings back the schedules of the version it makes live, with their ids.
  const rolledBack = await lambda.cli(['rollback', 'ticker']);
  t.is(rolledBack.code, 0, rolledBack.stderr);
  t.deepEqual((await schedulesOf('ticker')).map((s) => s.id).sort(), [cli.id, nightly.id].sort());
  t.is((await lambda.cli(['unschedule', 'ticker', cli.id])).code, 0);
});

test.serial('overlap: skip never runs two firings of one schedule at once and logs the skip', async (t) => {
  await deploy('slow', `${BASE}schedules:\n  - cron: "*/1 * * * * *"\n    payload: { mark: slow, sleep: 2500 }\n    overlap: skip\n`);
  const lines = await until('a skipped firing', async () => {
    const all = await logLines('slow');
    return all.some((line) => / skipped its firing at .*overlap: skip/.test(line)) && all.filter((line) => line === 'end slow').length >= 2 ? all : undefined;
  });
  t.false(lines.some((line) => /^begin slow inflight [2-9]/.test(line)), 'never two firings at once');
  await deploy('slow', BASE);
  t.deepEqual(await schedulesOf('slow'), []);
});

test.serial('a firing wakes a function scaled to zero', async (t) => {
  await deploy('sleepy', `${BASE}idleTimeout: 500ms\nschedules:\n  - cron: "*/4 * * * * *"\n`);
  const id = (await schedulesOf('sleepy'))[0]?.id as string;
  await until('the function to scale to zero', async () => ((await lambda.containers('sleepy')).length === 0 ? true : undefined));
  const before = (await ticks('sleepy', id)).length;
  const after = await until('a tick after scale to zero', async () => {
    const count = (await ticks('sleepy', id)).length;
    return count > before ? count : undefined;
  });
  t.true(after > before, 'a firing ran the function after it had no instance');
  await deploy('sleepy', BASE);
});

test.serial('no firing runs twice across a redeploy and a SIGKILL restart; firings missed while down are logged as missed', async (t) => {
  await deploy('steady', `${BASE}schedules:\n  - cron: "*/1 * * * * *"\n`);
  const id = (await schedulesOf('steady'))[0]?.id as string;
  await until('ticks', async () => ((await ticks('steady', id)).length >= 2 ? true : undefined));
  // The same schedule redeployed: the timer is kept, not doubled.
  await deploy('steady', `${BASE}memory: 128Mi\nschedules:\n  - cron: "*/1 * * * * *"\n`);
  await lambda.stop('SIGKILL');
  await sleep(3_500);
  await lambda.restart('SIGKILL');
  const seen = await until('ticks after the restart', async () => {
    const all = await ticks('steady', id);
    return all.some((time) => Date.parse(time) > Date.now() - 1500) ? all : undefined;
  });
  await sleep(2_000);
  const all = await ticks('steady', id);
  t.true(all.length >= seen.length);
  t.is(new Set(all).size, all.length, `a cron time fired twice: ${all.join(' ')}`);
  const missed = (await logLines('steady')).filter((line) => line.startsWith(`[lambda] schedule ${id} (cron "*/1 * * * * *") missed its firing at `));
  t.true(missed.length >= 2, missed.join('\n'));
  // Missed times were not run late.
  for (const line of missed) t.false(all.includes(/missed its firing at (\S+):/.exec(line)?.[1] ?? ''), line);
  await deploy('steady', BASE);
});
