// The instance pool's rules, against a fake Engine (the interface ends at the engine): concurrency per
// instance, scaling up to maxInstances, the bounded wait queue and its 429, minInstances, idle stop, recycling,
// and switching versions with requests in flight.
import test from 'ava';
import { LambdaError } from '../../errors.js';
import { InstanceClients } from '../requests/client.js';
import { createPool, type PoolOptions } from './pool.js';
import type { Instance, InstanceSpec, Engine } from '../engine.js';

function spec(fn: string, version = 1, extra: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    fn,
    version,
    sha: String(version).repeat(40),
    image: `lambda/${fn}:x`,
    handler: 'index.handler',
    timeoutMs: 1000,
    memoryBytes: 1,
    concurrency: 1,
    minInstances: 0,
    maxInstances: 4,
    env: {},
    ...extra,
  };
}

function fakeEngine() {
  let next = 0;
  const started: Instance[] = [];
  const stopped: string[] = [];
  const frozen = new Set<string>();
  const gates: (() => void)[] = [];
  let failNext = false;
  let hold = false;
  const engine: Engine = {
    imageExists: async () => true,
    removeImage: async () => {},
    async freeze(instance) {
      frozen.add(instance.id);
    },
    async thaw(instance) {
      frozen.delete(instance.id);
    },
    endedAt: async () => undefined,
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
    engine: engine,
    started,
    stopped,
    frozen,
    failNextStart: () => (failNext = true),
    holdStarts: (on: boolean) => (hold = on),
    release: () => gates.splice(0).forEach((open) => open()),
  };
}

const options: PoolOptions = { idleTimeoutMs: 60_000, queueLength: 10, queueTimeoutMs: 200, freezeAfterMs: 0 };

async function until(check: () => boolean, rounds = 400): Promise<boolean> {
  for (let i = 0; i < rounds && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  return check();
}

test('acquire before any deploy is LAMBDA_ERR_NOT_DEPLOYED', async (t) => {
  const pool = createPool(fakeEngine().engine, new InstanceClients(), () => {}, options);
  const error = await t.throwsAsync(pool.acquire('greet'));
  t.is((error as LambdaError).code, 'LAMBDA_ERR_NOT_DEPLOYED');
  await pool.shutdown();
});

test('one instance takes up to `concurrency` requests; released slots are reused', async (t) => {
  const fake = fakeEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, options);
  await pool.activate(spec('greet', 1, { concurrency: 3 }));
  const leases = await Promise.all([pool.acquire('greet'), pool.acquire('greet'), pool.acquire('greet')]);
  t.is(fake.started.length, 1);
  t.is(new Set(leases.map((lease) => lease.instance.id)).size, 1);
  for (const lease of leases) lease.release();
  t.is((await pool.acquire('greet')).instance.id, leases[0].instance.id, 'the warm instance is reused');
  t.is(fake.started.length, 1);
  await pool.shutdown();
});

test('busy instances scale out up to maxInstances, then requests wait and get 429 after the queue time', async (t) => {
  const fake = fakeEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, options);
  await pool.activate(spec('greet', 1, { concurrency: 1, maxInstances: 2 }));
  const first = await pool.acquire('greet');
  const second = await pool.acquire('greet');
  t.not(first.instance.id, second.instance.id);
  t.is(fake.started.length, 2);
  const error = await t.throwsAsync(pool.acquire('greet'));
  t.is((error as LambdaError).code, 'LAMBDA_ERR_TOO_MANY_REQUESTS');
  t.is((error as LambdaError).kind, 'too_many');
  t.is(fake.started.length, 2, 'never beyond maxInstances');
  await pool.shutdown();
});

test('a waiting request is served as soon as a slot frees', async (t) => {
  const fake = fakeEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, options);
  await pool.activate(spec('greet', 1, { concurrency: 1, maxInstances: 1 }));
  const busy = await pool.acquire('greet');
  const waiting = pool.acquire('greet');
  setTimeout(() => busy.release(), 20);
  t.is((await waiting).instance.id, busy.instance.id);
  await pool.shutdown();
});

test('the wait queue is bounded: beyond it, 429 at once', async (t) => {
  const fake = fakeEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, { ...options, queueLength: 1, queueTimeoutMs: 5000 });
  await pool.activate(spec('greet', 1, { concurrency: 1, maxInstances: 1 }));
  const busy = await pool.acquire('greet');
  const queued = pool.acquire('greet');
  const error = await t.throwsAsync(pool.acquire('greet'));
  t.regex((error as LambdaError).message, /already waiting/);
  busy.release();
  t.truthy(await queued);
  await pool.shutdown();
});

test('concurrent cold acquires share one start when one instance has room for them', async (t) => {
  const fake = fakeEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, options);
  await pool.activate(spec('greet', 1, { concurrency: 8 }));
  const leases = await Promise.all([pool.acquire('greet'), pool.acquire('greet'), pool.acquire('greet')]);
  t.is(fake.started.length, 1);
  t.is(new Set(leases.map((lease) => lease.instance.id)).size, 1);
  await pool.shutdown();
});

test('minInstances are started at activation and kept through failures', async (t) => {
  const fake = fakeEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, options);
  await pool.activate(spec('warm', 1, { minInstances: 2 }));
  t.true(await until(() => pool.counts().warm?.running === 2));
  const lease = await pool.acquire('warm');
  lease.release();
  pool.recycle('warm', lease.instance);
  t.true(await until(() => pool.counts().warm?.running === 2), 'a replacement keeps the minimum');
  t.is(fake.started.length, 3);
  await pool.shutdown();
});

test('an instance idle for idleTimeout stops, down to minInstances (0 = scale to zero), and the next request starts one', async (t) => {
  const fake = fakeEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, options);
  await pool.activate(spec('idle', 1, { idleTimeoutMs: 100 }));
  const lease = await pool.acquire('idle');
  lease.release();
  t.true(await until(() => fake.stopped.includes(lease.instance.id)));
  t.is(pool.counts().idle?.running, 0);
  const next = await pool.acquire('idle');
  t.not(next.instance.id, lease.instance.id);
  next.release();

  await pool.activate(spec('kept', 1, { idleTimeoutMs: 100, minInstances: 1 }));
  t.true(await until(() => pool.counts().kept?.running === 1));
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is(pool.counts().kept?.running, 1, 'minInstances stays warm');
  await pool.shutdown();
});

test('an instance with a request in flight is never stopped as idle', async (t) => {
  const fake = fakeEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, options);
  await pool.activate(spec('busy', 1, { idleTimeoutMs: 50 }));
  const lease = await pool.acquire('busy');
  await new Promise((resolve) => setTimeout(resolve, 250));
  t.false(fake.stopped.includes(lease.instance.id));
  lease.release();
  await pool.shutdown();
});

test('activating a new version retires the old instances; new requests get the new version', async (t) => {
  const fake = fakeEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, options);
  await pool.activate(spec('greet', 1));
  const first = await pool.acquire('greet');
  first.release();
  const second = await fake.engine.start(spec('greet', 2));
  await pool.activate(spec('greet', 2), second);
  t.is((await pool.acquire('greet')).instance.id, second.id);
  t.true(await until(() => fake.stopped.includes(first.instance.id)));
  t.deepEqual(fake.stopped, [first.instance.id]);
  t.is(pool.spec('greet')?.version, 2);
  await pool.shutdown();
});

test('recycling is idempotent: one stop, one true', async (t) => {
  const fake = fakeEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, options);
  await pool.activate(spec('greet'));
  const broken = await pool.acquire('greet');
  t.true(pool.recycle('greet', broken.instance));
  t.false(pool.recycle('greet', broken.instance));
  t.false(pool.recycle('greet', broken.instance));
  const fresh = await pool.acquire('greet');
  t.not(fresh.instance.id, broken.instance.id);
  t.true(await until(() => fake.stopped.includes(broken.instance.id)));
  t.is(fake.stopped.filter((id) => id === broken.instance.id).length, 1);
  await pool.shutdown();
});

test('an instance the engine reports gone is forgotten at once', async (t) => {
  const fake = fakeEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, options);
  await pool.activate(spec('greet'));
  const lease = await pool.acquire('greet');
  lease.release();
  t.true(pool.exited(lease.instance.id));
  t.false(pool.exited(lease.instance.id));
  t.not((await pool.acquire('greet')).instance.id, lease.instance.id);
  await pool.shutdown();
});

test('a failed start is LAMBDA_ERR_INSTANCE_START_FAILED and the next acquire tries again', async (t) => {
  const fake = fakeEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, options);
  await pool.activate(spec('greet'));
  fake.failNextStart();
  const error = await t.throwsAsync(pool.acquire('greet'));
  t.is((error as LambdaError).code, 'LAMBDA_ERR_INSTANCE_START_FAILED');
  t.regex((error as LambdaError).message, /engine said no/);
  t.truthy(await pool.acquire('greet'));
  await pool.shutdown();
});

test('a request waiting on a cold start when the version changes is served by the new version', async (t) => {
  const fake = fakeEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, { ...options, queueTimeoutMs: 5000 });
  await pool.activate(spec('greet', 1));
  fake.holdStarts(true);
  const waiting = pool.acquire('greet');
  await until(() => true, 1);
  fake.holdStarts(false);
  const v2 = await fake.engine.start(spec('greet', 2));
  await pool.activate(spec('greet', 2), v2);
  fake.release();
  const served = await waiting;
  t.is(served.instance.id, v2.id);
  t.true(await until(() => fake.stopped.length === 1));
  t.not(fake.stopped[0], v2.id, 'the v1 instance that finished starting late was retired');
  await pool.shutdown();
});

test('shutdown stops every instance, those still starting included', async (t) => {
  const fake = fakeEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, options);
  await pool.activate(spec('a'));
  await pool.activate(spec('b'));
  const a = await pool.acquire('a');
  const b = await pool.acquire('b');
  a.release();
  b.release();
  await pool.activate(spec('c', 1, { minInstances: 1 }));
  await pool.shutdown();
  t.deepEqual([...fake.stopped].sort(), fake.started.map((i) => i.id).sort());
  await t.throwsAsync(pool.acquire('a'));
});

test('an instance idle for freezeAfter is frozen, and thawed before its next request is sent', async (t) => {
  const fake = fakeEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, { ...options, freezeAfterMs: 50 });
  await pool.activate(spec('cold', 1, { concurrency: 2 }));
  const first = await pool.acquire('cold');
  await first.ready;
  await new Promise((resolve) => setTimeout(resolve, 120));
  t.false(fake.frozen.has(first.instance.id), 'never frozen with a request in flight');
  first.release();
  t.true(await until(() => fake.frozen.has(first.instance.id)));
  const next = await pool.acquire('cold');
  await next.ready;
  t.is(next.instance.id, first.instance.id);
  t.false(fake.frozen.has(next.instance.id));
  next.release();
  await pool.shutdown();
});

test('deactivate resolves only once the instances an earlier switch is retiring have stopped too', async (t) => {
  const fake = fakeEngine();
  // The old version's container is stopped a while after the switch (its settle time).
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, { ...options, switchSettleMs: 300 });
  await pool.activate(spec('greet', 1));
  const first = await pool.acquire('greet');
  first.release();
  const second = await fake.engine.start(spec('greet', 2));
  await pool.activate(spec('greet', 2), second);
  t.false(fake.stopped.includes(first.instance.id));
  await pool.deactivate('greet');
  t.true(fake.stopped.includes(first.instance.id), 'the old version was still retiring when deactivate returned');
  t.true(fake.stopped.includes(second.id));
  await pool.shutdown();
});

/** An engine whose starts wait until the test settles them; cancelBoots and closeBoots are recorded. */
function pendingEngine() {
  const fake = fakeEngine();
  const pending: { spec: InstanceSpec; resolve(instance: Instance): void; reject(error: Error): void }[] = [];
  const calls: string[] = [];
  const engine: Engine = {
    ...fake.engine,
    start: (s) => new Promise((resolve, reject) => pending.push({ spec: s, resolve, reject })),
    cancelBoots: (fn) => void calls.push(`cancel ${fn}`),
    closeBoots: () => void calls.push('close'),
  };
  return { engine, pending, calls, stopped: fake.stopped };
}

test('deactivate gives up the function\'s starts and waits for them: one that came up anyway is stopped before it resolves', async (t) => {
  const fake = pendingEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, { ...options, queueTimeoutMs: 5000 });
  await pool.activate(spec('flood'));
  const requests = Array.from({ length: 3 }, () => pool.acquire('flood'));
  t.true(await until(() => fake.pending.length === 3));
  let resolved = false;
  const deactivated = pool.deactivate('flood').then(() => (resolved = true));
  for (const request of requests) await t.throwsAsync(request, { message: /function "flood" does not exist/ });
  t.deepEqual(fake.calls, ['cancel flood']);
  await until(() => true, 2);
  t.false(resolved, 'it waits for the starts under way');
  // One had its container up already; the others were given up by the engine.
  const [late, ...given] = fake.pending.splice(0);
  late.resolve({ id: 'late', fn: 'flood', sha: late.spec.sha, socketPath: '/nonexistent/late' });
  for (const each of given) each.reject(new LambdaError('LAMBDA_ERR_INSTANCE_START_FAILED', { name: 'flood', detail: 'the function was deleted' }));
  await deactivated;
  t.deepEqual(fake.stopped, ['late'], 'the instance that came up was stopped before deactivate resolved');
  await pool.shutdown();
});

test('a start the engine gave up reaches its waiters in its own words, and shutdown gives up the starts waiting to boot', async (t) => {
  const fake = pendingEngine();
  const pool = createPool(fake.engine, new InstanceClients(), () => {}, { ...options, queueTimeoutMs: 5000 });
  await pool.activate(spec('greet'));
  const request = pool.acquire('greet');
  t.true(await until(() => fake.pending.length === 1));
  fake.pending[0].reject(new LambdaError('LAMBDA_ERR_INSTANCE_START_FAILED', { name: 'greet', detail: 'no turn to boot came within 20000 ms (LAMBDA_BOOTS: 4 at once)' }));
  const error = await t.throwsAsync(request);
  t.is(error?.message, 'no instance of "greet" could be started: no turn to boot came within 20000 ms (LAMBDA_BOOTS: 4 at once)');
  await pool.shutdown();
  t.deepEqual(fake.calls, ['close']);
});
