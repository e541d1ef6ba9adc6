// End to end: async invocations through the public HTTP path, the REST API and `lambda invoke --async`
// (202 + id), queued durably in SQLite, run at least once (also across a SIGKILL), retried twice then dead-lettered,
// replayed, and run within the function's maxInstances.
import test from 'ava';
import { fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

interface Entry {
  text: string;
  stream: string;
}

interface Invocation {
  id: string;
  status: string;
  attempts: number;
  payload: unknown;
  error: string | null;
  replayOf: string | null;
}

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda({ LAMBDA_RETRY_BASE_MS: '200' });
  const push = await lambda.push('jobs', fixture('jobs'));
  if (push.code !== 0) throw new Error(`could not deploy jobs: ${push.stderr}`);
  const single = await lambda.push('single', fixture('jobs'), { files: { 'lambda.yaml': 'runtime: node20\nhandler: index.handler\nmaxInstances: 1\nconcurrency: 1\n' } });
  if (single.code !== 0) throw new Error(`could not deploy single: ${single.stderr}`);
});

test.after.always(async () => {
  await lambda?.destroy();
});

async function logLines(name: string): Promise<string[]> {
  const response = await lambda.api(`/api/v1/functions/${name}/logs?tail=0`);
  return (await response.text()).split('\n').filter(Boolean).map((line) => (JSON.parse(line) as Entry).text);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

async function invocation(name: string, id: string): Promise<Invocation | undefined> {
  const response = await lambda.api(`/api/v1/functions/${name}/invocations`);
  const body = (await response.json()) as { invocations: Invocation[] };
  return body.invocations.find((entry) => entry.id === id);
}

const finished = (name: string, id: string, status = 'succeeded') =>
  until(`${id} to be ${status}`, async () => {
    const found = await invocation(name, id);
    return found?.status === status ? found : undefined;
  });

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test.serial('REST with X-Lambda-Invocation-Type: Event answers 202 with an id, and the call runs with its payload', async (t) => {
  const response = await lambda.api('/api/v1/functions/jobs/invoke', { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event' }, body: JSON.stringify({ mark: 'rest1' }) });
  t.is(response.status, 202);
  const body = (await response.json()) as { invocationId: string };
  t.regex(body.invocationId, ID);
  t.is(response.headers.get('x-lambda-invocation-id'), body.invocationId);
  const done = await finished('jobs', body.invocationId);
  t.is(done.attempts, 1);
  t.deepEqual(done.payload, { mark: 'rest1' });
  t.true((await logLines('jobs')).some((line) => line.startsWith('begin rest1')));
});

test.serial('lambda invoke --async prints the id; --json gives it as JSON', async (t) => {
  const text = await lambda.cli(['invoke', 'jobs', '--async', '--data', '{"mark":"cli1"}']);
  t.is(text.code, 0, text.stderr);
  const id = /invocation (\S+)/.exec(text.stdout)?.[1] ?? '';
  t.regex(id, ID);
  const json = await lambda.cli(['--json', 'invoke', 'jobs', '--async', '--data', '{"mark":"cli2"}']);
  t.is(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { invocationId: string };
  await finished('jobs', id);
  await finished('jobs', parsed.invocationId);
  const lines = await logLines('jobs');
  t.true(lines.some((line) => line.startsWith('begin cli1')));
  t.true(lines.some((line) => line.startsWith('begin cli2')));
});

test.serial('a public HTTP call with X-Lambda-Invocation-Type: Event gets 202 and runs as an HTTP event', async (t) => {
  const response = await lambda.fetch('/fn/jobs/hello?x=1', { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event' }, body: 'queued-body' });
  t.is(response.status, 202);
  const { invocationId } = (await response.json()) as { invocationId: string };
  await finished('jobs', invocationId);
  t.true((await logLines('jobs')).includes('http POST /hello queued-body'));
});

test.serial('bad invocation types, oversized async bodies and unknown functions are refused', async (t) => {
  const bogus = await lambda.fetch('/fn/jobs/', { method: 'POST', headers: { 'x-lambda-invocation-type': 'Sometimes' }, body: '{}' });
  t.is(bogus.status, 400);
  t.is(((await bogus.json()) as { error: { code: string } }).error.code, 'LAMBDA_ERR_BAD_REQUEST');
  const big = await lambda.api('/api/v1/functions/jobs/invoke', { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event' }, body: JSON.stringify({ pad: 'x'.repeat(300 * 1024) }) });
  t.is(big.status, 413);
  const missing = await lambda.api('/api/v1/functions/nobody/invoke', { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event' }, body: '{}' });
  t.is(missing.status, 404);
  const badJson = await lambda.api('/api/v1/functions/jobs/invoke', { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event' }, body: '{nope' });
  t.is(badJson.status, 400);
  const listed = (await (await lambda.api('/api/v1/functions/jobs/invocations?status=failed')).json()) as { invocations: Invocation[] };
  t.false(listed.invocations.some((entry) => JSON.stringify(entry.payload).includes('xxxx')), 'a refused call is never queued');
});

test.serial('a failing call is retried twice with backoff, then dead-lettered with error, attempts and payload', async (t) => {
  const response = await lambda.api('/api/v1/functions/jobs/invoke', { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event' }, body: JSON.stringify({ mark: 'dead1', fail: true }) });
  const { invocationId } = (await response.json()) as { invocationId: string };
  const dead = await finished('jobs', invocationId, 'failed');
  t.is(dead.attempts, 3);
  t.regex(dead.error ?? '', /failing dead1 on purpose/);
  t.deepEqual(dead.payload, { mark: 'dead1', fail: true });
  t.is((await logLines('jobs')).filter((line) => line.startsWith('begin dead1')).length, 3);
  const dlq = await lambda.cli(['--json', 'dlq', 'jobs']);
  t.is(dlq.code, 0, dlq.stderr);
  const letters = JSON.parse(dlq.stdout) as Invocation[];
  t.like(letters.find((entry) => entry.id === invocationId), { status: 'failed', attempts: 3, payload: { mark: 'dead1', fail: true } });
  const failed = await lambda.cli(['invocations', 'jobs', '--status', 'failed']);
  t.is(failed.code, 0, failed.stderr);
  t.true(failed.stdout.includes(invocationId));
  const text = await lambda.cli(['dlq', 'jobs']);
  t.regex(text.stdout, /failing dead1 on purpose/);
});

test.serial("lambda invocations N ID shows one async call's status, attempts, times and result; --json the object; an unknown id exits 4", async (t) => {
  const queued = await lambda.cli(['invoke', 'jobs', '--async', '--data', '{"mark":"show1"}']);
  t.is(queued.code, 0, queued.stderr);
  const id = /invocation (\S+)/.exec(queued.stdout)?.[1] ?? '';
  await finished('jobs', id);
  const shown = await lambda.cli(['invocations', 'jobs', id]);
  t.is(shown.code, 0, shown.stderr);
  t.regex(shown.stdout, new RegExp(`^Invocation ${id} of jobs\n`));
  t.regex(shown.stdout, /^Status: +succeeded after 1 attempt$/m);
  t.regex(shown.stdout, /^Queued: +\d{4}-\d\d-\d\dT[\d:.]+Z$/m);
  t.regex(shown.stdout, /^Finished: +\d{4}-\d\d-\d\dT[\d:.]+Z$/m);
  t.regex(shown.stdout, /^Result: +.*"done":\s*"show1"/m);
  const json = await lambda.cli(['--json', 'invocations', 'jobs', id]);
  t.is(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as Invocation & { result: string };
  t.like(parsed, { id, status: 'succeeded', attempts: 1, payload: { mark: 'show1' } });
  t.deepEqual(JSON.parse(parsed.result), { done: 'show1' });
  const unknown = await lambda.cli(['invocations', 'jobs', '00000000-0000-4000-8000-000000000000']);
  t.is(unknown.code, 4);
  t.regex(unknown.stderr, /function "jobs" has no async invocation "00000000-0000-4000-8000-000000000000" \(LAMBDA_ERR_INVOCATION_NOT_FOUND\)/);
});

test.serial('a dead letter replayed runs again as a new call; unknown and hostile ids are refused', async (t) => {
  const failUntil = Date.now() + 3_000;
  const response = await lambda.api('/api/v1/functions/jobs/invoke', { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event' }, body: JSON.stringify({ mark: 'replay1', failUntil }) });
  const { invocationId } = (await response.json()) as { invocationId: string };
  await finished('jobs', invocationId, 'failed');
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, failUntil - Date.now() + 100)));
  const replay = await lambda.cli(['dlq', 'replay', 'jobs', invocationId]);
  t.is(replay.code, 0, replay.stderr);
  const copy = /as (\S+)/.exec(replay.stdout)?.[1] ?? '';
  t.regex(copy, ID);
  const done = await finished('jobs', copy);
  t.is(done.replayOf, invocationId);
  t.deepEqual(done.payload, { mark: 'replay1', failUntil });
  t.is((await invocation('jobs', invocationId))?.status, 'replayed');
  const again = await lambda.cli(['dlq', 'replay', 'jobs', invocationId]);
  t.is(again.code, 4, 'a dead letter is replayed once');
  t.regex(again.stderr, /LAMBDA_ERR_INVOCATION_NOT_FOUND/);
  for (const hostile of ['../../etc/passwd', "x' OR '1'='1", '%2e%2e']) {
    const refused = await lambda.cli(['dlq', 'replay', 'jobs', hostile]);
    t.is(refused.code, 4, hostile);
  }
  const badName = await lambda.cli(['dlq', 'replay', '../jobs', invocationId]);
  t.is(badName.code, 2);
  const badStatus = await lambda.api('/api/v1/functions/jobs/invocations?status=dead;drop');
  t.is(badStatus.status, 400);
});

test.serial('calls run within maxInstances × concurrency, and list --json shows the queue depth and oldest waiting call', async (t) => {
  const ids: string[] = [];
  // Four calls of 3 s each on one slot: the queue stays non-empty for about 12 s, while it is read.
  for (let i = 0; i < 4; i += 1) {
    const response = await lambda.api('/api/v1/functions/single/invoke', { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event' }, body: JSON.stringify({ mark: `c${i}`, sleep: 3000 }) });
    ids.push(((await response.json()) as { invocationId: string }).invocationId);
  }
  const rest = (await (await lambda.api('/api/v1/functions/single/invocations')).json()) as { invocations: Invocation[]; queue: { depth: number; oldestWaiting: string | null } };
  t.true(rest.queue.depth >= 2, JSON.stringify(rest.queue));
  // The workers take one call at a time (maxInstances 1 × concurrency 1), not all four to wait in the pool.
  t.true(rest.invocations.filter((entry) => entry.status === 'running').length <= 1);
  t.true(rest.invocations.filter((entry) => entry.status === 'queued').length >= 2);
  t.truthy(rest.queue.oldestWaiting);
  const listed = await lambda.cli(['--json', 'list']);
  t.is(listed.code, 0, listed.stderr);
  const single = (JSON.parse(listed.stdout) as { name: string; queue: { depth: number; oldestWaiting: string | null } }[]).find((fn) => fn.name === 'single');
  t.true((single?.queue.depth ?? 0) >= 1, JSON.stringify(single));
  t.truthy(single?.queue.oldestWaiting);
  for (const id of ids) await finished('single', id);
  const lines = await logLines('single');
  t.is(lines.filter((line) => /^begin c\d/.test(line)).length, 4);
  t.false(lines.some((line) => /^begin c\d inflight [2-9]/.test(line)), 'never two calls at once on a maxInstances 1, concurrency 1 function');
  const after = (await (await lambda.api('/api/v1/functions/single')).json()) as { queue: { depth: number; oldestWaiting: string | null } };
  t.deepEqual(after.queue, { depth: 0, oldestWaiting: null });
});

test.serial('a call taken when the server is SIGKILLed runs again after the restart (at-least-once)', async (t) => {
  const response = await lambda.api('/api/v1/functions/jobs/invoke', { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event' }, body: JSON.stringify({ mark: 'kill1', sleep: 4000 }) });
  const { invocationId } = (await response.json()) as { invocationId: string };
  await until('the call to start', async () => ((await logLines('jobs')).some((line) => line.startsWith('begin kill1')) ? true : undefined));
  await lambda.restart('SIGKILL');
  const done = await finished('jobs', invocationId);
  t.is(done.attempts, 1, 'the attempt cut short by the kill is not counted');
  const begins = (await logLines('jobs')).filter((line) => line.startsWith('begin kill1'));
  t.true(begins.length >= 2, `ran ${begins.length} times`);
  t.regex(lambda.output(), /Requeued 1 async invocations/);
});
