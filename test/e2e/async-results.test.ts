// End to end: what an async call leaves behind says what happened to it: every attempt logs START, END and REPORT
// under the invocation id its caller was given, and a dead letter keeps the handler's own error, node20 and python3,
// queued through the REST API or as a public HTTP call.
import test from 'ava';
import { fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

interface Invocation {
  id: string;
  status: string;
  attempts: number;
  error: string | null;
}

let lambda: Lambda;

const RUNTIMES = [
  { name: 'thrower', fixture: 'thrower' },
  { name: 'pythrower', fixture: 'python-thrower' },
] as const;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda({ LAMBDA_RETRY_BASE_MS: '200' });
  for (const runtime of RUNTIMES) {
    const push = await lambda.push(runtime.name, fixture(runtime.fixture));
    if (push.code !== 0) throw new Error(`could not deploy ${runtime.name}: ${push.stderr}`);
  }
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
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

const finished = (name: string, id: string, status: string) =>
  until(`${id} to be ${status}`, async () => {
    const body = (await (await lambda.api(`/api/v1/functions/${name}/invocations`)).json()) as { invocations: Invocation[] };
    const found = body.invocations.find((entry) => entry.id === id);
    return found?.status === status ? found : undefined;
  });

/** The START, END and REPORT lines of one request id, once its REPORT is in the log. */
const platformLines = (name: string, id: string, reports = 1) =>
  until(`${reports} REPORT lines of ${id}`, async () => {
    const lines = (await logLines(name)).filter((line) => /^(START|END|REPORT) RequestId: /.test(line) && line.includes(id));
    return lines.filter((line) => line.startsWith('REPORT')).length >= reports ? lines : undefined;
  });

for (const runtime of RUNTIMES) {
  test.serial(`${runtime.name}: \`lambda invoke --async\` logs START, END and REPORT under the invocation id it printed`, async (t) => {
    const queued = await lambda.cli(['invoke', runtime.name, '--async', '--data', '{"mark":"cli"}']);
    t.is(queued.code, 0, queued.stderr);
    const id = /invocation (\S+)/.exec(queued.stdout)?.[1] ?? '';
    await finished(runtime.name, id, 'succeeded');
    const lines = await platformLines(runtime.name, id);
    t.true(lines.some((line) => line.startsWith(`START RequestId: ${id} `)), lines.join('\n'));
    t.true(lines.includes(`END RequestId: ${id}`), lines.join('\n'));
  });

  test.serial(`${runtime.name}: a public HTTP call queued with X-Lambda-Invocation-Type: Event logs under its invocation id`, async (t) => {
    const response = await lambda.fetch(`/fn/${runtime.name}/?mark=http`, { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event' } });
    t.is(response.status, 202);
    const { invocationId } = (await response.json()) as { invocationId: string };
    await finished(runtime.name, invocationId, 'succeeded');
    const lines = await platformLines(runtime.name, invocationId);
    t.true(lines.some((line) => line.startsWith(`START RequestId: ${invocationId} `)), lines.join('\n'));
  });

  test.serial(`${runtime.name}: a queued call whose handler throws is dead-lettered with the handler's error, every attempt under its id`, async (t) => {
    const rest = await lambda.api(`/api/v1/functions/${runtime.name}/invoke`, { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event' }, body: '{"boom":1,"mark":"rest"}' });
    const restId = ((await rest.json()) as { invocationId: string }).invocationId;
    const http = await lambda.fetch(`/fn/${runtime.name}/?boom=1&mark=public`, { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event' } });
    t.is(http.status, 202);
    const httpId = ((await http.json()) as { invocationId: string }).invocationId;
    for (const id of [restId, httpId]) {
      const dead = await finished(runtime.name, id, 'failed');
      t.is(dead.attempts, 3);
      t.regex(dead.error ?? '', /boom 42/, `the invocation record keeps the handler's error: ${dead.error}`);
      const starts = (await platformLines(runtime.name, id, 3)).filter((line) => line.startsWith('START'));
      t.is(starts.length, 3, 'each attempt logs under the invocation id');
    }
    const dlq = await lambda.cli(['dlq', runtime.name]);
    t.is(dlq.code, 0, dlq.stderr);
    const httpLetter = dlq.stdout.split('\n').find((line) => line.includes(httpId)) ?? '';
    t.regex(httpLetter, /boom 42/, dlq.stdout);
    t.notRegex(httpLetter, /Internal Server Error/);
    const json = await lambda.cli(['--json', 'dlq', runtime.name]);
    const letters = JSON.parse(json.stdout) as Invocation[];
    t.regex(letters.find((entry) => entry.id === httpId)?.error ?? '', /boom 42/);
  });
}

test.serial("a handler's error is kept within a bound however long it is", async (t) => {
  const response = await lambda.fetch('/fn/thrower/?size=200000', { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event' } });
  const { invocationId } = (await response.json()) as { invocationId: string };
  const dead = await finished('thrower', invocationId, 'failed');
  t.regex(dead.error ?? '', /xxxx/);
  t.true((dead.error ?? '').length <= 4096, `kept ${dead.error?.length} characters`);
  const failures = (await logLines('thrower')).filter((line) => line.includes(`async invocation ${invocationId}`));
  t.true(failures.length > 0);
  for (const line of failures) t.true(line.length <= 5000, `a log line of ${line.length} characters`);
});
