// End to end: instances scale out to maxInstances, busy functions answer 429 with Retry-After, idle instances
// stop (scale to zero) and the next request is answered, a deploy under load loses nothing, SIGTERM drains.
import test from 'ava';
import { command, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;

const manifest = (extra: string) => `runtime: node20\nhandler: index.handler\ntimeout: 5s\n${extra}`;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda({ LAMBDA_QUEUE_TIMEOUT: '300ms' });
});

test.after.always(async () => {
  await lambda?.destroy();
});

test.serial('busy instances scale out to maxInstances; beyond, requests wait, then get 429 with Retry-After', async (t) => {
  const push = await lambda.push('busy', fixture('probe'), { files: { 'lambda.yaml': manifest('concurrency: 1\nmaxInstances: 2\n') } });
  t.is(push.code, 0, push.stderr);
  const statuses = await Promise.all(
    [1, 2, 3, 4].map(async () => {
      const response = await lambda.fetch('/fn/busy/slow?ms=1500');
      return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.text() };
    }),
  );
  const ok = statuses.filter((s) => s.status === 200);
  const throttled = statuses.filter((s) => s.status === 429);
  t.is(ok.length, 2, JSON.stringify(statuses));
  t.is(throttled.length, 2);
  for (const answer of throttled) {
    t.is(answer.retryAfter, '1');
    t.regex(answer.body, /LAMBDA_ERR_TOO_MANY_REQUESTS/);
  }
  t.is((await lambda.containers('busy')).length, 2, 'exactly maxInstances instances');
});

test.serial('an idle instance stops after idleTimeout (scale to zero) and the next request is answered', async (t) => {
  const push = await lambda.push('sleepy', fixture('probe'), { files: { 'lambda.yaml': manifest('idleTimeout: 1s\n') } });
  t.is(push.code, 0, push.stderr);
  t.is((await lambda.fetch('/fn/sleepy/')).status, 200);
  let left = await lambda.containers('sleepy');
  for (let i = 0; i < 100 && left.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = await lambda.containers('sleepy');
  }
  t.deepEqual(left, [], 'scaled to zero');
  const again = await lambda.fetch('/fn/sleepy/');
  t.is(again.status, 200);
  t.true(((await again.json()) as { probe: boolean }).probe);
});

test.serial('minInstances stay warm however long they idle', async (t) => {
  const push = await lambda.push('warm', fixture('probe'), { files: { 'lambda.yaml': manifest('idleTimeout: 500ms\nminInstances: 1\n') } });
  t.is(push.code, 0, push.stderr);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.is((await lambda.containers('warm')).length, 1);
});

test.serial('a deploy under load gives no non-2xx answer', async (t) => {
  const push = await lambda.push('steady', fixture('probe'));
  t.is(push.code, 0, push.stderr);
  let stop = false;
  const failures: string[] = [];
  let answered = 0;
  const client = async () => {
    while (!stop) {
      const response = await lambda.fetch('/fn/steady/slow?ms=20').catch((error: Error) => ({ status: 0, text: async () => error.message }));
      answered += 1;
      if (response.status !== 200) failures.push(`${response.status} ${await response.text()}`);
    }
  };
  const clients = Array.from({ length: 20 }, () => client());
  const redeploy = await lambda.push('steady', fixture('probe'), { files: { 'lambda.yaml': manifest('memory: 192Mi\n') } });
  await new Promise((resolve) => setTimeout(resolve, 500));
  stop = true;
  await Promise.all(clients);
  t.is(redeploy.code, 0, redeploy.stderr);
  t.true(answered > 20);
  t.deepEqual(failures, []);
});

test.serial('SIGTERM lets a request in flight finish, then stops every instance', async (t) => {
  const push = await lambda.push('drain', fixture('probe'));
  t.is(push.code, 0, push.stderr);
  t.is((await lambda.fetch('/fn/drain/')).status, 200);
  const inFlight = lambda.fetch('/fn/drain/slow?ms=1500');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const stopped = lambda.stop('SIGTERM');
  const response = await inFlight;
  t.is(response.status, 200);
  t.deepEqual(await response.json(), { slow: true });
  await stopped;
  t.deepEqual(await lambda.allContainers(), [], 'no instance nor pre-started cell is left');
  await lambda.restart('SIGTERM');
});

test.serial('an instance killed for its memory limit is reported as such, once', async (t) => {
  const push = await lambda.push('hog', fixture('misbehave'), { files: { 'lambda.yaml': 'runtime: node20\nhandler: index.handler\nmemory: 64Mi\n' } });
  t.is(push.code, 0, push.stderr);
  const before = lambda.output().length;
  const response = await lambda.fetch('/fn/hog/eat-memory');
  t.true(response.status === 502 || response.status === 504, `status ${response.status}`);
  let log = '';
  for (let i = 0; i < 50 && !/memory limit|replacing it/.test(log); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    log = lambda.output().slice(before);
  }
  t.regex(log, /memory limit/);
  t.is((await lambda.fetch('/fn/hog/ok')).status, 200);
});

test.serial("between requests an instance is frozen, so a handler's background work does not run on", async (t) => {
  const push = await lambda.push('ticker', fixture('probe'));
  t.is(push.code, 0, push.stderr);
  const ticks = async () => ((await (await lambda.fetch('/fn/ticker/ticker')).json()) as { ticks: number }).ticks;
  const before = await ticks();
  // Idle for 3 s: a timer every 50 ms would count about 60 if it ran on; frozen after 1 s (the default), about 20.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const [id] = await lambda.containers('ticker');
  const state = await command('docker', ['inspect', id, '--format', '{{.State.Status}}']);
  t.is(state.stdout.trim(), 'paused');
  const after = await ticks();
  t.true(after - before < 40, `the timer ran ${after - before} times while nobody called`);
  t.is((await lambda.fetch('/fn/ticker/')).status, 200, 'the next request is answered');
  // A frozen instance stops with the server like any other.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await lambda.restart('SIGTERM');
  t.deepEqual(await lambda.containers('ticker'), []);
});
