// The instance pool's rules, against a fake Runtime (the interface ends at the engine): one cold start per
// function at a time, retirement of replaced instances, recycling, and switching versions mid-start.
import test from 'ava';
import { LambdaError } from '../errors.js';
import { InstanceClients } from './instance-client.js';
import { createPool } from './pool.js';
import type { Instance, InstanceSpec, Runtime } from './types.js';

function spec(fn: string, version = 1): InstanceSpec {
  return { fn, version, sha: String(version).repeat(40), image: `lambda/${fn}:x`, handler: 'index.handler', timeoutMs: 1000, memoryBytes: 1, concurrency: 1, env: {} };
}

function fakeRuntime() {
  let next = 0;
  const started: Instance[] = [];
  const stopped: string[] = [];
  const gates: (() => void)[] = [];
  let failNext = false;
  let hold = false;
  const runtime: Runtime = {
    imageExists: async () => true,
    removeImage: async () => {},
    importImage: async () => {},
    buildImage: async () => {},
    async start(s) {
      if (hold) await new Promise<void>((resolve) => gates.push(resolve));
      if (failNext) {
        failNext = false;
        throw new Error('engine said no');
      }
      const instance = { id: `i${++next}`, fn: s.fn, sha: s.sha, socketPath: `/nonexistent/${next}` };
      started.push(instance);
      return instance;
    },
    async stop(instance) {
      stopped.push(instance.id);
    },
    listManaged: async () => [],
    healthy: async () => true,
  };
  return {
    runtime,
    started,
    stopped,
    failNextStart: () => (failNext = true),
    holdStarts: (on: boolean) => (hold = on),
    release: () => gates.splice(0).forEach((open) => open()),
  };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setImmediate(resolve));
}

test('acquire before any deploy is LAMBDA_ERR_NOT_DEPLOYED', async (t) => {
  const pool = createPool(fakeRuntime().runtime, new InstanceClients(), () => {});
  const error = await t.throwsAsync(pool.acquire('greet'));
  t.is((error as LambdaError).code, 'LAMBDA_ERR_NOT_DEPLOYED');
});

test('concurrent cold acquires share one start', async (t) => {
  const fake = fakeRuntime();
  const pool = createPool(fake.runtime, new InstanceClients(), () => {});
  await pool.activate(spec('greet'));
  const [a, b, c] = await Promise.all([pool.acquire('greet'), pool.acquire('greet'), pool.acquire('greet')]);
  t.is(fake.started.length, 1);
  t.is(a.id, b.id);
  t.is(b.id, c.id);
  t.is((await pool.acquire('greet')).id, a.id, 'the warm instance is reused');
});

test('activating a new version retires the old instance', async (t) => {
  const fake = fakeRuntime();
  const pool = createPool(fake.runtime, new InstanceClients(), () => {});
  await pool.activate(spec('greet', 1));
  const first = await pool.acquire('greet');
  const second = await fake.runtime.start(spec('greet', 2));
  await pool.activate(spec('greet', 2), second);
  t.is((await pool.acquire('greet')).id, second.id);
  await until(() => fake.stopped.includes(first.id));
  t.deepEqual(fake.stopped, [first.id]);
  t.is(pool.spec('greet')?.version, 2);
});

test('recycling kills the instance and a fresh one serves next', async (t) => {
  const fake = fakeRuntime();
  const pool = createPool(fake.runtime, new InstanceClients(), () => {});
  await pool.activate(spec('greet'));
  const broken = await pool.acquire('greet');
  pool.recycle('greet', broken);
  const fresh = await pool.acquire('greet');
  t.not(fresh.id, broken.id);
  await until(() => fake.stopped.includes(broken.id));
  t.true(fake.stopped.includes(broken.id));
});

test('a failed start is LAMBDA_ERR_INSTANCE_START_FAILED and the next acquire tries again', async (t) => {
  const fake = fakeRuntime();
  const pool = createPool(fake.runtime, new InstanceClients(), () => {});
  await pool.activate(spec('greet'));
  fake.failNextStart();
  const error = await t.throwsAsync(pool.acquire('greet'));
  t.is((error as LambdaError).code, 'LAMBDA_ERR_INSTANCE_START_FAILED');
  t.regex((error as LambdaError).message, /engine said no/);
  t.truthy(await pool.acquire('greet'));
});

test('a request waiting on a cold start when the version changes is served by the new version', async (t) => {
  const fake = fakeRuntime();
  const pool = createPool(fake.runtime, new InstanceClients(), () => {});
  await pool.activate(spec('greet', 1));
  fake.holdStarts(true);
  const waiting = pool.acquire('greet');
  await until(() => true);
  fake.holdStarts(false);
  const v2 = await fake.runtime.start(spec('greet', 2));
  await pool.activate(spec('greet', 2), v2);
  fake.release();
  const served = await waiting;
  t.is(served.id, v2.id);
  await until(() => fake.stopped.length === 1);
  t.is(fake.stopped.length, 1, 'the v1 instance that finished starting late was retired');
  t.not(fake.stopped[0], v2.id);
});

test('shutdown stops every instance', async (t) => {
  const fake = fakeRuntime();
  const pool = createPool(fake.runtime, new InstanceClients(), () => {});
  await pool.activate(spec('a'));
  await pool.activate(spec('b'));
  const a = await pool.acquire('a');
  const b = await pool.acquire('b');
  await pool.shutdown();
  t.deepEqual([...fake.stopped].sort(), [a.id, b.id].sort());
  await t.throwsAsync(pool.acquire('a'));
});
