// The stem-cell pool's rules against a fake engine (the interface ends at the engine): bounded per runtime, a
// cell taken once and never returned, refilled after each take, failures backed off, everything removed at shutdown.
import test from 'ava';
import { createCellPool, type Cell, type CellEngine } from './cells.js';
import type { Instance, InstanceSpec } from '../engine.js';
import { createBootLimiter } from '../boots.js';

function spec(fn: string, extra: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    fn,
    version: 1,
    sha: 'a'.repeat(40),
    image: `lambda/${fn}:x`,
    handler: 'index.handler',
    timeoutMs: 1000,
    memoryBytes: 256 * 1024 * 1024,
    concurrency: 1,
    minInstances: 0,
    maxInstances: 4,
    env: {},
    runtime: 'node20',
    ...extra,
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await tick();
}

function fakeEngine(runtimes = ['node20']) {
  let next = 0;
  const alive = new Map<string, Cell>();
  const exits = new Map<string, () => void>();
  const created: string[] = [];
  const destroyed: string[] = [];
  const specialised: { cell: string; fn: string }[] = [];
  const prepared: string[] = [];
  let failCreates = 0;
  let attempts = 0;
  let failSpecialise = false;
  let classicOnly = false;
  const engine: CellEngine<Cell> = {
    runtimes: () => runtimes,
    async create(runtime, exited) {
      attempts += 1;
      if (failCreates > 0) {
        failCreates -= 1;
        throw new Error('engine said no');
      }
      const cell = { id: `c${++next}`, runtime };
      created.push(cell.id);
      alive.set(cell.id, cell);
      exits.set(cell.id, exited);
      return cell;
    },
    async prepare(s) {
      prepared.push(s.fn);
      return classicOnly ? undefined : s.runtime;
    },
    async specialise(cell, s): Promise<Instance> {
      if (failSpecialise) throw new Error('init failed');
      specialised.push({ cell: cell.id, fn: s.fn });
      return { id: cell.id, fn: s.fn, sha: s.sha, socketPath: `/nowhere/${cell.id}` };
    },
    async destroy(cell) {
      destroyed.push(cell.id);
      alive.delete(cell.id);
    },
    release: () => {},
    forget: () => {},
    removeAll: async () => 0,
    instances: async () => [],
  };
  return {
    engine,
    created,
    destroyed,
    specialised,
    prepared,
    alive,
    exit: (id: string) => {
      alive.delete(id);
      exits.get(id)?.();
    },
    attempts: () => attempts,
    failCreates: (n: number) => (failCreates = n),
    failSpecialise: (on: boolean) => (failSpecialise = on),
    classicOnly: (on: boolean) => (classicOnly = on),
  };
}

/** A version of each runtime is seen (prepared), so the pool keeps that runtime's cells. */
function fillFor(pool: ReturnType<typeof createCellPool>, ...runtimes: string[]): void {
  for (const runtime of runtimes.length > 0 ? runtimes : ['node20']) void pool.prepare(spec(`seed-${runtime}`, { runtime }));
}

test('size 0 turns the pool off: no cell is made and every start is classic', async (t) => {
  const fake = fakeEngine();
  const pool = createCellPool(fake.engine, { size: 0, log: () => {} });
  pool.fill();
  await settle();
  t.is(await pool.start(spec('greet')), undefined);
  t.deepEqual(fake.created, []);
  t.deepEqual(fake.prepared, []);
});

test('the pool fills to its size per runtime and no further', async (t) => {
  const fake = fakeEngine(['node20', 'python3']);
  const pool = createCellPool(fake.engine, { size: 2, log: () => {} });
  fillFor(pool, 'node20', 'python3');
  pool.fill();
  await settle();
  pool.fill();
  await settle();
  t.is(fake.created.length, 4);
  t.deepEqual(pool.status(), { node20: { ready: 2, starting: 0, size: 2 }, python3: { ready: 2, starting: 0, size: 2 } });
});

test("a runtime's cells are kept only once a version of it is seen", async (t) => {
  const fake = fakeEngine(['node20', 'python3']);
  const pool = createCellPool(fake.engine, { size: 2, log: () => {} });
  pool.fill();
  await settle();
  t.deepEqual(fake.created, [], 'no version yet: no cell');
  t.is(await pool.start(spec('greet')), undefined, 'the first start is classic');
  await settle();
  t.deepEqual(pool.status(), { node20: { ready: 2, starting: 0, size: 2 } }, 'only node20 cells, for the node20 version');
  t.is(await pool.start(spec('other', { runtime: 'docker' })), undefined, 'a runtime with no cells adds none');
  pool.warm([spec('pygreet', { runtime: 'python3' })]);
  await settle();
  t.deepEqual(pool.status(), { node20: { ready: 2, starting: 0, size: 2 }, python3: { ready: 2, starting: 0, size: 2 } });
  await pool.shutdown();
});

test('a start takes a ready cell once, never gives it back, and the pool is refilled', async (t) => {
  const fake = fakeEngine();
  const pool = createCellPool(fake.engine, { size: 2, log: () => {} });
  fillFor(pool);
  await settle();
  const first = await pool.start(spec('alpha'));
  const second = await pool.start(spec('beta'));
  t.truthy(first);
  t.truthy(second);
  t.not(first?.id, second?.id, 'two functions never share a cell');
  t.deepEqual(fake.specialised, [
    { cell: 'c1', fn: 'alpha' },
    { cell: 'c2', fn: 'beta' },
  ]);
  await settle();
  t.deepEqual(pool.status().node20, { ready: 2, starting: 0, size: 2 });
  const third = await pool.start(spec('alpha'));
  t.false(['c1', 'c2'].includes(third?.id ?? ''), 'a used cell is never handed out again');
});

test('concurrent starts each get a cell of their own', async (t) => {
  const fake = fakeEngine();
  const pool = createCellPool(fake.engine, { size: 2, log: () => {} });
  fillFor(pool);
  await settle();
  const [a, b] = await Promise.all([pool.start(spec('alpha')), pool.start(spec('beta'))]);
  t.truthy(a && b);
  t.not(a?.id, b?.id);
});

test('with no ready cell a start is classic at once, and the version is prepared meanwhile', async (t) => {
  const fake = fakeEngine();
  const pool = createCellPool(fake.engine, { size: 1, log: () => {} });
  t.is(await pool.start(spec('greet')), undefined);
  await settle();
  t.deepEqual(fake.prepared, ['greet']);
  t.is(fake.created.length, 1, 'the first start also begins filling the pool');
});

test('a version that cannot use a cell starts classically and leaves the cell in the pool', async (t) => {
  const fake = fakeEngine();
  const pool = createCellPool(fake.engine, { size: 1, log: () => {} });
  fillFor(pool);
  await settle();
  fake.classicOnly(true);
  t.is(await pool.start(spec('big', { memoryBytes: 2 ** 31 })), undefined);
  t.deepEqual(fake.specialised, []);
  t.deepEqual(fake.destroyed, []);
  t.is(pool.status().node20.ready, 1);
});

test('a cell that fails to specialise is destroyed, not returned, and replaced', async (t) => {
  const fake = fakeEngine();
  const lines: string[] = [];
  const pool = createCellPool(fake.engine, { size: 1, log: (line) => lines.push(line) });
  fillFor(pool);
  await settle();
  fake.failSpecialise(true);
  t.is(await pool.start(spec('broken')), undefined);
  t.deepEqual(fake.destroyed, ['c1']);
  await settle();
  t.deepEqual(fake.created, ['c1', 'c2']);
  t.regex(lines.join('\n'), /cell c1 could not become broken v1 \(init failed\); starting it classically/);
});

test('a cell that exits while it waits is dropped and replaced after the retry delay', async (t) => {
  const fake = fakeEngine();
  const pool = createCellPool(fake.engine, { size: 1, log: () => {}, retryMs: 20 });
  fillFor(pool);
  await settle();
  fake.exit('c1');
  t.is(pool.status().node20.ready, 0);
  await new Promise((resolve) => setTimeout(resolve, 60));
  await settle();
  t.deepEqual(fake.created, ['c1', 'c2']);
  t.is(pool.status().node20.ready, 1);
});

test('failed cells are retried with a growing delay, not in a loop, and logged once', async (t) => {
  const fake = fakeEngine();
  const lines: string[] = [];
  const pool = createCellPool(fake.engine, { size: 2, log: (line) => lines.push(line), retryMs: 30 });
  fake.failCreates(1000);
  fillFor(pool);
  await new Promise((resolve) => setTimeout(resolve, 100));
  // Two at first, then one try after 30 ms and one after 30 + 60 ms: far from a busy loop.
  t.true(fake.attempts() <= 5, `${fake.attempts()} attempts in 100 ms`);
  t.is(lines.length, 1);
  t.regex(lines[0], /a node20 cell failed \(engine said no\); retrying in 30 ms/);
  fake.failCreates(0);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await settle();
  t.is(pool.status().node20.ready, 2);
  await pool.shutdown();
});

test('shutdown removes ready cells and those still booting, and stops refilling', async (t) => {
  const fake = fakeEngine();
  const pool = createCellPool(fake.engine, { size: 2, log: () => {} });
  fillFor(pool);
  await settle();
  const taken = await pool.start(spec('alpha'));
  // The refill is under way; shutdown waits for it and removes what it made.
  await pool.shutdown();
  await settle();
  t.deepEqual([...fake.alive.keys()], [taken?.id], 'only the cell that became an instance is left (the instance pool stops it)');
  t.is(await pool.start(spec('beta')), undefined);
  pool.fill();
  await settle();
  t.deepEqual([...fake.alive.keys()], [taken?.id]);
});

test('warm fills the pool and prepares each live version in turn', async (t) => {
  const fake = fakeEngine();
  const pool = createCellPool(fake.engine, { size: 1, log: () => {} });
  pool.warm([spec('alpha'), spec('beta')]);
  await settle();
  t.deepEqual(fake.prepared, ['alpha', 'beta']);
  t.is(fake.created.length, 1);
  await pool.shutdown();
});

/** Waits (without a time bound of its own) until `done` holds, letting timers and promises run. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
}

const MIB = 1024 * 1024;

function fakeClock() {
  let time = 1_000_000;
  return { now: () => time, advance: (ms: number) => (time += ms) };
}

test('a burst of cold starts grows the pool to the burst for the next one, within the memory budget', async (t) => {
  const fake = fakeEngine();
  const pool = createCellPool({ ...fake.engine, cellBytes: () => 8 * MIB }, { size: 2, maxBytes: 256 * MIB, log: () => {}, demand: { now: fakeClock().now } });
  fillFor(pool);
  await settle();
  const first = await Promise.all(Array.from({ length: 30 }, (_, i) => pool.start(spec(`f${i}`))));
  t.true(first.filter(Boolean).length >= 2, 'a burst not seen before: at least the floor from cells, the rest classic (as before)');
  await settle();
  t.deepEqual(pool.status(), { node20: { ready: 30, starting: 0, size: 30 } });
  const second = await Promise.all(Array.from({ length: 30 }, (_, i) => pool.start(spec(`f${i}`))));
  t.is(second.filter(Boolean).length, 30, 'the repeated burst is answered from cells');
});

test('the budget bounds the cells above the floor, all runtimes together', async (t) => {
  const fake = fakeEngine(['node20', 'python3']);
  const bytes = (runtime: string) => (runtime === 'python3' ? 20 * MIB : 10 * MIB);
  const pool = createCellPool({ ...fake.engine, cellBytes: bytes }, { size: 2, maxBytes: 100 * MIB, log: () => {}, demand: { now: fakeClock().now } });
  fillFor(pool, 'node20', 'python3');
  await settle();
  await Promise.all(Array.from({ length: 3 }, (_, i) => pool.start(spec(`p${i}`, { runtime: 'python3' }))));
  await settle();
  t.is(pool.status().python3.ready, 3, 'one python3 cell above the floor: 20 MiB');
  await Promise.all(Array.from({ length: 40 }, (_, i) => pool.start(spec(`n${i}`))));
  await settle();
  t.is(pool.status().node20.ready, 2 + 8, 'node20 gets the 80 MiB left');
  await pool.start(spec('one-more'));
  await settle();
  t.is(pool.status().node20.ready, 2 + 8, 'taken and refilled, still within the budget');
});

test('quiet again, the pool gives its cells back one by one down to the floor', async (t) => {
  const fake = fakeEngine();
  const clock = fakeClock();
  const pool = createCellPool(fake.engine, { size: 2, maxBytes: 1024 * MIB, log: () => {}, shrinkEveryMs: 5, demand: { now: clock.now, windowMs: 60_000 } });
  fillFor(pool);
  await settle();
  await Promise.all(Array.from({ length: 12 }, (_, i) => pool.start(spec(`f${i}`))));
  await until(() => pool.status().node20.ready === 12);
  const before = fake.destroyed.length;
  clock.advance(60_001);
  const seen = new Set<number>();
  await until(() => {
    seen.add(pool.status().node20.ready);
    return pool.status().node20.ready === 2;
  });
  t.is(fake.destroyed.length - before, 10);
  t.true(seen.size > 2, `went down in steps: ${[...seen].join(', ')}`);
  await pool.shutdown();
});

test('a reservation (a schedule ahead) makes a cell ready and its version prepared, until its time', async (t) => {
  const fake = fakeEngine();
  const clock = fakeClock();
  const pool = createCellPool(fake.engine, { size: 2, maxBytes: 1024 * MIB, log: () => {}, shrinkEveryMs: 5, demand: { now: clock.now } });
  fillFor(pool);
  await settle();
  for (let i = 0; i < 10; i++) pool.reserve(spec(`cron${i}`), clock.now() + 15_000);
  await until(() => pool.status().node20.ready === 10);
  t.true(Array.from({ length: 10 }, (_, i) => `cron${i}`).every((fn) => fake.prepared.includes(fn)));
  const started = await Promise.all(Array.from({ length: 10 }, (_, i) => pool.start(spec(`cron${i}`))));
  t.is(started.filter(Boolean).length, 10, 'every firing is a cell start');
  await pool.shutdown();
});

test('cell boots take their turns at the boot limiter', async (t) => {
  const fake = fakeEngine();
  let running = 0;
  let most = 0;
  const slow: CellEngine<Cell> = {
    ...fake.engine,
    async create(runtime, exited) {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 2));
      running -= 1;
      return fake.engine.create(runtime, exited);
    },
  };
  const pool = createCellPool(slow, { size: 8, log: () => {}, boots: createBootLimiter(2) });
  fillFor(pool);
  await until(() => pool.status().node20?.ready === 8);
  t.is(most, 2);
  await pool.shutdown();
});

/** A fake engine keyed as a swarm's is: by the version's image, one key per version of a cell-able runtime. */
function imageKeyed() {
  const fake = fakeEngine([]);
  const keys = new Set<string>();
  const engine: CellEngine<Cell> = {
    ...fake.engine,
    runtimes: () => [...keys],
    keyOf(s) {
      if (s.runtime !== 'node20') return undefined;
      keys.add(s.image);
      return s.image;
    },
    async prepare(s) {
      fake.prepared.push(s.fn);
      return engine.keyOf?.(s);
    },
  };
  return { ...fake, engine };
}

test('on demand with a floor of 0: no cell at rest; a cold start makes one cell of that version, which serves its next one only', async (t) => {
  const fake = imageKeyed();
  const clock = fakeClock();
  const pool = createCellPool(fake.engine, { size: 0, onDemand: true, maxBytes: 64 * MIB, log: () => {}, demand: { now: clock.now } });
  pool.warm([spec('greet'), spec('other')]);
  await settle();
  t.deepEqual(fake.created, [], 'no demand yet: no cell');
  t.deepEqual(pool.status(), { 'lambda/greet:x': { ready: 0, starting: 0, size: 0 }, 'lambda/other:x': { ready: 0, starting: 0, size: 0 } });
  t.is(await pool.start(spec('greet')), undefined, 'the first start is classic');
  await settle();
  t.is(pool.status()['lambda/greet:x'].ready, 1, "greet's cold start made one cell of greet's version");
  t.is(pool.status()['lambda/other:x'].ready, 0);
  const [greetCell] = fake.created;
  const other = await pool.start(spec('other'));
  t.not(other?.id, greetCell, "greet's cell never serves another version");
  await settle();
  t.is(pool.status()['lambda/greet:x'].ready, 1);
  const instance = await pool.start(spec('greet'));
  t.is(instance?.id, greetCell);
  t.is(instance?.fn, 'greet');
  t.is(await pool.start(spec('go-fn', { runtime: 'go' })), undefined, 'a version with no key starts classically');
  await pool.shutdown();
});

test('on demand, the budget bounds every cell (there is no floor); forgetting a version removes its waiting cells', async (t) => {
  const fake = imageKeyed();
  const pool = createCellPool({ ...fake.engine, cellBytes: () => 10 * MIB }, { size: 0, onDemand: true, maxBytes: 30 * MIB, log: () => {}, demand: { now: fakeClock().now } });
  await Promise.all(Array.from({ length: 8 }, () => pool.start(spec('burst'))));
  await settle();
  t.is(pool.status()['lambda/burst:x'].ready, 3, 'a burst of 8 wants 8 cells; 30 MiB hold 3');
  const before = fake.destroyed.length;
  pool.forget('lambda/burst:x');
  await settle();
  t.is(fake.destroyed.length - before, 3);
  t.deepEqual(pool.status(), {});
  t.is(await pool.start(spec('other')), undefined);
  await settle();
  t.is(fake.alive.size, 1, "only other's cell is left");
  await pool.shutdown();
});

test('size 0 without onDemand still turns the pool off, whatever the keys', async (t) => {
  const fake = imageKeyed();
  const pool = createCellPool(fake.engine, { size: 0, maxBytes: 64 * MIB, log: () => {} });
  t.is(await pool.start(spec('greet')), undefined);
  await settle();
  t.deepEqual(fake.created, []);
});
