// End to end: the turns to boot a container cannot be held by one function. A `docker`-runtime function whose process
// sleeps 15 s before it dials in, flooded with cold starts, neither holds another function's cold start behind it
// nor, once deleted, keeps creating containers or its image.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { command, requireDocker, ROOT, startLambda, type Lambda } from '../helpers/lambda.js';
import { readScrape } from '../helpers/prometheus.js';

let lambda: Lambda;
let dir: string;

/** A Dockerfile serving the node20 shim (the runtime protocol), its process first sleeping `sleepMs` (0: none). */
const dockerfile = (sleepMs: number) =>
  [
    'FROM lambda/node20',
    'ENV LAMBDA_TASK_ROOT=/var/task NODE_ENV=production HOME=/tmp',
    'WORKDIR /var/task',
    'COPY shim/ /opt/lambda/shim/',
    'COPY code/ /var/task/',
    'USER 10001:10001',
    sleepMs > 0
      ? `CMD ["node", "-e", "setTimeout(() => import('/opt/lambda/shim/main.mjs'), ${sleepMs})"]`
      : 'CMD ["node", "/opt/lambda/shim/main.mjs"]',
    '',
  ].join('\n');

// One instance per request, up to many, stopped almost at once when idle: each request of a flood is a cold start.
const MANIFEST = 'runtime: docker\nconcurrency: 1\nmaxInstances: 100\nidleTimeout: 100ms\n';
const FLOOD = 12;

test.before(async () => {
  await requireDocker();
  // Four turns whatever the machine's cores; no cells (a `docker`-runtime function never uses one anyway).
  lambda = await startLambda({ LAMBDA_BOOTS: '4', LAMBDA_CELLS: '0' });
  dir = fs.mkdtempSync(path.join(lambda.dataDir, 'sleeper-'));
  fs.cpSync(path.join(ROOT, 'buildpacks', 'node20', 'shim'), path.join(dir, 'shim'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'code'));
  fs.writeFileSync(path.join(dir, 'code', 'index.mjs'), 'export const handler = async () => ({ fn: process.env.AWS_LAMBDA_FUNCTION_NAME });\n');
  fs.writeFileSync(path.join(dir, 'lambda.yaml'), MANIFEST);
  const pushes = await Promise.all([
    lambda.push('sleeper', dir, { files: { Dockerfile: dockerfile(15_000) } }),
    lambda.push('doomed', dir, { files: { Dockerfile: dockerfile(15_000) } }),
    lambda.push('quick', dir, { files: { Dockerfile: dockerfile(0) } }),
  ]);
  for (const push of pushes) if (push.code !== 0) throw new Error(`a push failed:\n${push.stderr}`);
  images.push(`lambda-fn/sleeper:${pushes[0].sha.slice(0, 12)}`, `lambda-fn/quick:${pushes[2].sha.slice(0, 12)}`);
});

/** The images this file's pushes made that no delete removes (other servers share the engine: only these). */
const images: string[] = [];

test.after.always(async () => {
  await lambda?.destroy();
  if (images.length > 0) await command('docker', ['image', 'rm', ...images]);
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${lambda.output().split('\n').slice(-30).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The pool's starts under way for `fn` (waiting for a turn or booting), from the server's own gauge. */
async function starting(fn: string): Promise<number> {
  const scrape = readScrape(await (await lambda.api('/metrics')).text());
  return scrape.value('lambda_instances', { function: fn, state: 'starting' }) ?? 0;
}

/** Calls `fn` `count` times at once; each answer is recorded with the order in which it arrived. */
function flood(fn: string, count: number, answered: string[]) {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const res = await lambda.fetch(`/fn/${fn}/`);
      await res.arrayBuffer();
      answered.push(`${fn} ${res.status}`);
      return res.status;
    }),
  );
}

/** Waits until `fn` has no instance left (its deploy's one stopped as idle): its next request is a cold start. */
const idle = (fn: string) => until(`${fn} to scale to zero`, async () => ((await lambda.containers(fn)).length === 0 ? true : undefined));

test.serial("a flood of a slow-starting function does not hold another function's cold start", async (t) => {
  await Promise.all([idle('sleeper'), idle('quick')]);
  const answered: string[] = [];
  const flooding = flood('sleeper', FLOOD, answered);
  // Every request of the flood waits on a start of its own before the other function is called.
  await until('the flood to be starting', async () => ((await starting('sleeper')) === FLOOD ? true : undefined));

  const res = await lambda.fetch('/fn/quick/');
  t.is(res.status, 200);
  t.deepEqual(await res.json(), { fn: 'quick' });
  answered.push('quick 200');
  t.deepEqual(answered, ['quick 200'], 'the other function answered before any request of the flood');
  t.true((await starting('sleeper')) > 0, 'while the flood was still starting');

  // The flood itself is answered (or fails as a start that waited too long), never left hanging.
  const statuses = await flooding;
  t.true(statuses.every((status) => status === 200 || status === 503), statuses.join(' '));
  t.true(statuses.includes(200), statuses.join(' '));
});

test.serial('deleting a function during its flood: no container of it is created after the delete answered, and its image goes', async (t) => {
  await idle('doomed');
  const [image] = (await command('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', 'lambda-fn/doomed'])).stdout.split('\n').filter(Boolean);
  t.truthy(image, 'the pushed image exists');
  const answered: string[] = [];
  const flooding = flood('doomed', FLOOD, answered);
  // Some of its boots have a container (sleeping), the rest wait for a turn.
  await until('the flood to be booting', async () => ((await starting('doomed')) === FLOOD && (await lambda.containers('doomed')).length > 0 ? true : undefined));

  const deleted = await lambda.api('/api/v1/functions/doomed', { method: 'DELETE' });
  // The engine stamps its events with this machine's clock.
  const since = (Date.now() / 1000).toFixed(3);
  t.is(deleted.status, 200, await deleted.text());

  const statuses = await flooding;
  t.true(statuses.every((status) => status >= 400), statuses.join(' '));
  await until('the image to be removed', async () => ((await command('docker', ['image', 'ls', '-q', 'lambda-fn/doomed'])).stdout.trim() === '' ? true : undefined));
  // Long enough for a boot still queued to have made its container before the fix (a turn every few seconds).
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const to = (Date.now() / 1000).toFixed(3);
  const created = await command('docker', [
    'events', '--since', since, '--until', to,
    '--filter', 'type=container', '--filter', 'event=create',
    '--filter', `label=lambda.server=${lambda.serverId()}`, '--filter', 'label=lambda.function=doomed',
    '--format', '{{.ID}}',
  ]);
  t.is(created.code, 0, created.stderr);
  t.is(created.stdout.trim(), '', 'no container of the deleted function was created after its delete answered');
  t.deepEqual(await lambda.containers('doomed'), []);
  t.notRegex(lambda.output(), /could not remove image lambda-fn\/doomed/);
});

// Last: it stops the server.
test.serial('SIGTERM during a flood does not wait for its queue of boots: the waiting requests fail as a start that failed', async (t) => {
  await idle('sleeper');
  const answered: string[] = [];
  const flooding = flood('sleeper', FLOOD, answered);
  await until('the flood to be starting', async () => ((await starting('sleeper')) === FLOOD ? true : undefined));
  await lambda.stop('SIGTERM');
  // Had the stop waited for the boots, each request would have been answered by its instance (200).
  t.deepEqual(await flooding, Array.from({ length: FLOOD }, () => 503));
  t.regex(lambda.output(), /SIGTERM: stopping instances/);
  t.deepEqual(await lambda.containers('sleeper'), [], 'no container of the flood is left');
});
