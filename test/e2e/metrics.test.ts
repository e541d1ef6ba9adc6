// End to end: a known mix of calls (answers, handler errors, a 5xx, timeouts, a crash, 429s, cold starts, an async
// call retried to a dead letter) on every trigger, then `GET /metrics` parsed as Prometheus text with each count
// exact; the key it needs (none, a wrong one, an invoke-only one are refused); the same counters after a restart on the
// same data folder; and every series of the function gone once it is deleted.
import test from 'ava';
import { fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';
import { readScrape, type Scrape } from '../helpers/prometheus.js';

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  // One request may wait a moment for the one instance (then 429); retries come quickly.
  lambda = await startLambda({ LAMBDA_QUEUE_LENGTH: '1', LAMBDA_QUEUE_TIMEOUT: '300ms', LAMBDA_RETRY_BASE_MS: '200ms' });
  const push = await lambda.push('metered', fixture('metered'));
  if (push.code !== 0) throw new Error(`could not deploy metered: ${push.stderr}`);
});

test.after.always(async () => {
  await lambda?.destroy();
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const get = async (path: string) => (await lambda.fetch(`/fn/metered/${path}`)).status;
const invoke = async (action: string, headers: Record<string, string> = {}) =>
  (await lambda.api('/api/v1/functions/metered/invoke', { method: 'POST', headers, body: JSON.stringify({ action }) })).status;

async function logLines(): Promise<string[]> {
  const response = await lambda.api('/api/v1/functions/metered/logs?tail=0');
  return (await response.text()).split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { text: string }).text);
}

const scrape = async (authorization = `Bearer ${lambda.key}`): Promise<Scrape> => {
  const response = await lambda.fetch('/metrics', { headers: { authorization } });
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}: ${await response.text()}`);
  return readScrape(await response.text());
};

const v1 = { function: 'metered', version: '1' };
/** What the mix below adds up to. */
const EXPECTED: [string, Record<string, string>, number][] = [
  ['lambda_invocations_total', { ...v1, trigger: 'http' }, 9],
  ['lambda_invocations_total', { ...v1, trigger: 'direct' }, 4],
  ['lambda_invocations_total', { ...v1, trigger: 'async' }, 4],
  ['lambda_errors_total', { ...v1, trigger: 'http', kind: 'handler' }, 2],
  ['lambda_errors_total', { ...v1, trigger: 'http', kind: 'timeout' }, 2],
  ['lambda_errors_total', { ...v1, trigger: 'direct', kind: 'handler' }, 1],
  ['lambda_errors_total', { ...v1, trigger: 'direct', kind: 'crash' }, 1],
  ['lambda_errors_total', { ...v1, trigger: 'async', kind: 'handler' }, 3],
  ['lambda_throttles_total', { ...v1, trigger: 'http' }, 2],
  ['lambda_cold_starts_total', v1, 3],
  // Zeros, not missing series, for what never happened to a trigger that was used: a rate of them reads 0.
  ['lambda_errors_total', { ...v1, trigger: 'http', kind: 'crash' }, 0],
  ['lambda_errors_total', { ...v1, trigger: 'async', kind: 'timeout' }, 0],
  ['lambda_throttles_total', { ...v1, trigger: 'direct' }, 0],
  ['lambda_throttles_total', { ...v1, trigger: 'async' }, 0],
];

function countsOf(metrics: Scrape): Record<string, number | undefined> {
  return Object.fromEntries(EXPECTED.map(([name, labels]) => [`${name}${JSON.stringify(labels)}`, metrics.value(name, labels)]));
}

test.serial('a known mix of calls is counted exactly, by trigger and kind', async (t) => {
  // Public traffic: three answers, a 503 of the function's own, a throw (502): the deploy's instance serves them.
  for (let i = 0; i < 3; i++) t.is(await get('ok'), 200);
  t.is(await get('five'), 503);
  t.is(await get('throw'), 502);
  // Direct: a throw and an answer (the CLI's invoke is the same verb as REST's).
  t.is(await invoke('throw'), 502);
  const cli = await lambda.cli(['invoke', 'metered', '--data', '{"action":"ok"}']);
  t.is(cli.code, 0, cli.stderr);
  // A timeout replaces the instance: the next request is a cold start (1).
  t.is(await get('hang'), 504);
  t.is(await get('ok'), 200);
  // A crash (the handler exits) replaces it too: the next call is a cold start (2).
  t.is(await invoke('exit'), 502);
  t.is(await invoke('ok'), 200);
  // Throttles: while a hang holds the one instance, one request waits 300 ms and one finds the queue full: two 429s.
  const hanging = (await logLines()).filter((line) => line === 'hanging').length;
  const held = get('hang');
  await until('the hang to hold the instance', async () => ((await logLines()).filter((line) => line === 'hanging').length > hanging ? true : undefined));
  t.deepEqual(await Promise.all([get('ok'), get('ok')]), [429, 429]);
  t.is(await held, 504);
  // Cold start (3).
  t.is(await get('ok'), 200);
  // Async: a call that throws runs three times and becomes a dead letter; one that answers runs once.
  const queued = await lambda.cli(['--json', 'invoke', 'metered', '--async', '--data', '{"action":"throw"}']);
  t.is(queued.code, 0, queued.stderr);
  const { invocationId } = JSON.parse(queued.stdout) as { invocationId: string };
  await until('the dead letter', async () => {
    const list = (await (await lambda.api('/api/v1/functions/metered/invocations?status=failed')).json()) as { invocations: { id: string }[] };
    return list.invocations.some((entry) => entry.id === invocationId) ? true : undefined;
  });
  const fine = await lambda.cli(['--json', 'invoke', 'metered', '--async', '--data', '{"action":"ok"}']);
  const fineId = (JSON.parse(fine.stdout) as { invocationId: string }).invocationId;
  await until('the async answer', async () => {
    const list = (await (await lambda.api('/api/v1/functions/metered/invocations?status=succeeded')).json()) as { invocations: { id: string }[] };
    return list.invocations.some((entry) => entry.id === fineId) ? true : undefined;
  });

  // The memory figure comes with the REPORT lines, after the answers.
  const metrics = await until('a REPORT', async () => {
    const read = await scrape();
    return (read.value('lambda_max_memory_used_bytes', v1) ?? 0) > 0 ? read : undefined;
  });
  for (const [name, labels, count] of EXPECTED) t.is(metrics.value(name, labels), count, `${name} ${JSON.stringify(labels)}`);
  t.is(metrics.series('lambda_invocations_total').filter((each) => each.labels.function === 'metered').length, 3, 'no other trigger or version');
  t.is(metrics.histogramCount('lambda_invocation_duration_seconds', v1), 17);
  t.is(metrics.histogramCount('lambda_cold_start_duration_seconds', { function: 'metered' }), 3);
  t.is(metrics.value('lambda_dead_letters', { function: 'metered' }), 1);
  t.is(metrics.value('lambda_queue_depth', { function: 'metered' }), 0);
  t.is(metrics.value('lambda_builds_total', { function: 'metered', outcome: 'success' }), 1);
  t.is(metrics.histogramCount('lambda_build_duration_seconds', { function: 'metered' }), 1);
  const instances = ['running', 'frozen', 'starting'].map((state) => metrics.value('lambda_instances', { function: 'metered', state }) ?? -1);
  t.is(instances.filter((count) => count >= 0).length, 3);
  t.is(instances[0]! + instances[1]!, 1, 'the one instance, running or frozen');
});

test.serial('/metrics needs an admin API token: 401 without one or with a wrong one, 403 with an invoke-only one', async (t) => {
  for (const authorization of [undefined, 'Bearer wrong-key', `Basic ${Buffer.from(`lambda:${lambda.key}`).toString('base64')}`, lambda.key]) {
    const refused = await lambda.fetch('/metrics', { headers: authorization ? { authorization } : {} });
    t.is(refused.status, 401, String(authorization));
    t.deepEqual(((await refused.json()) as { error: unknown }).error, { code: 'LAMBDA_ERR_UNAUTHORIZED', message: 'a valid API token is required: send its key as `Authorization: Bearer <key>`' });
    t.is(refused.headers.get('www-authenticate'), 'Bearer realm="lambda"');
  }
  const created = await lambda.api('/api/v1/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'caller', scope: 'invoke' }) });
  const { key } = (await created.json()) as { key: string };
  const forbidden = await lambda.fetch('/metrics', { headers: { authorization: `Bearer ${key}` } });
  t.is(forbidden.status, 403);
  t.is(((await forbidden.json()) as { error: { code: string } }).error.code, 'LAMBDA_ERR_FORBIDDEN');
  const posted = await lambda.fetch('/metrics', { method: 'POST', headers: { authorization: `Bearer ${lambda.key}` } });
  t.is(posted.status, 404);
  const answer = await lambda.fetch('/metrics', { headers: { authorization: `Bearer ${lambda.key}` } });
  t.regex(answer.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  // Guessing keys here counts against the same allowance as the REST API (10 wrong keys per client): then 429.
  const guesses: number[] = [];
  for (let i = 0; i < 12; i++) guesses.push((await lambda.fetch('/metrics', { headers: { authorization: `Bearer guess-${i}` } })).status);
  t.is(guesses.at(-1), 429);
  t.true(guesses.every((status) => status === 401 || status === 429));
  const limited = await lambda.api('/api/v1/functions');
  t.is(limited.status, 200, 'the right key still works');
  const rest = await fetch(`${lambda.base}/api/v1/functions`, { headers: { authorization: 'Bearer one-more-guess' } });
  t.is(rest.status, 429, 'and the REST API refuses the same client its next guess');
});

test.serial('after a restart on the same data folder the counters read the same', async (t) => {
  const before = countsOf(await scrape());
  await lambda.restart('SIGTERM');
  const after = countsOf(await scrape());
  t.deepEqual(after, before);
  t.is(after[`lambda_invocations_total${JSON.stringify({ ...v1, trigger: 'http' })}`], 9);
});

test.serial("a deleted function's series are gone", async (t) => {
  const deleted = await lambda.api('/api/v1/functions/metered', { method: 'DELETE' });
  t.is(deleted.status, 200);
  const response = await lambda.fetch('/metrics', { headers: { authorization: `Bearer ${lambda.key}` } });
  const text = await response.text();
  t.false(text.includes('function="metered"'), text);
  // Nor do they come back from the stored rows after another restart.
  await lambda.restart('SIGTERM');
  t.false((await (await lambda.fetch('/metrics', { headers: { authorization: `Bearer ${lambda.key}` } })).text()).includes('function="metered"'));
});
