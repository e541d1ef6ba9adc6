// Unit tests of the scheduler with real SQLite and a fake dispatch (where the interface ends at the engine):
// missed firings are logged at start and not run, and two schedulers on one store never fire a cron time twice.
import test from 'ava';
import { openStore } from '../store/sqlite.js';
import { testDeps } from '../../test/helpers/deps.js';
import type { Dispatch, DispatchRequest } from '../instances/requests/dispatch.js';
import { createScheduler } from './scheduler.js';

function setup() {
  const store = openStore(':memory:');
  store.versions.publish({ fn: 'greet', sha: 'a'.repeat(40), image: 'i', manifest: JSON.stringify({ runtime: 'node20', handler: 'index.handler', schedules: [] }) });
  const calls: unknown[] = [];
  const dispatch: Dispatch = {
    async request(_fn: string, request: DispatchRequest) {
      calls.push(JSON.parse(String(request.body)));
      return { statusCode: 200, headers: {}, body: 'null' };
    },
    async stream() {
      throw new Error('not used');
    },
    async pipe() {
      throw new Error('not used');
    },
  };
  const deps = testDeps({ store, dispatch });
  const lines: string[] = [];
  const log = (_fn: string, _version: number | null, text: string) => lines.push(text);
  return { store, deps, calls, lines, log };
}

test('firings missed while the server was down are logged as missed, not run late; the next ones run', async (t) => {
  const { store, deps, calls, lines, log } = setup();
  const now = Date.now();
  store.schedules.insert({ id: 'aaaaaaaaaaaa', fn: 'greet', source: 'cli', cron: '*/1 * * * * *', payload: null, overlap: 'skip', createdAt: new Date(now - 10_000).toISOString(), lastFired: now - 10_000 });
  const scheduler = createScheduler(deps, { log, graceMs: 1000 });
  scheduler.start();
  const missed = lines.filter((line) => line.includes('missed its firing at'));
  t.is(missed.length, 5, 'five lines, then a count');
  t.regex(lines.find((line) => line.includes('more firings')) ?? '', /missed \d+ more firings/);
  await new Promise((resolve) => setTimeout(resolve, 2_300));
  await scheduler.stop();
  t.true(calls.length >= 1, `fired ${calls.length} times`);
  const times = (calls as { time: string }[]).map((event) => event.time);
  t.is(new Set(times).size, times.length);
  for (const event of calls as { time: string; source: string; detail: { schedule: string } }[]) {
    t.true(Date.parse(event.time) > now - 1000, `${event.time} is not a missed time run late`);
    t.like(event, { source: 'lambda.schedule', 'detail-type': 'Scheduled Event', detail: { schedule: 'aaaaaaaaaaaa', cron: '*/1 * * * * *' } });
  }
});

test('two schedulers over one store (a timer armed twice) fire each cron time once', async (t) => {
  const { store, deps, calls, log } = setup();
  store.schedules.insert({ id: 'bbbbbbbbbbbb', fn: 'greet', source: 'cli', cron: '*/1 * * * * *', payload: null, overlap: 'allow', createdAt: new Date().toISOString(), lastFired: Date.now() });
  const one = createScheduler(deps, { log, graceMs: 1000 });
  const two = createScheduler(deps, { log, graceMs: 1000 });
  one.start();
  two.start();
  two.reload('greet');
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  await Promise.all([one.stop(), two.stop()]);
  const fired = store.schedules.get('greet', 'bbbbbbbbbbbb')?.lastFired ?? 0;
  const times = (calls as { time: string }[]).map((event) => event.time);
  t.true(times.length >= 2, `fired ${times.length} times`);
  t.is(new Set(times).size, times.length, `a cron time fired twice: ${times.join(' ')}`);
  t.true(fired > Date.now() - 2_000);
});

test('metrics hear of each cron time: missed while down, fired (with trigger schedule), skipped while the last still runs', async (t) => {
  const { store, lines, log } = setup();
  const triggers: unknown[] = [];
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const dispatch: Dispatch = {
    async request(_fn, request) {
      triggers.push(request.trigger);
      await held;
      return { statusCode: 200, headers: {}, body: 'null' };
    },
    stream: async () => {},
    pipe: async () => {},
  };
  const outcomes: Record<string, number> = { fired: 0, skipped: 0, missed: 0 };
  const deps = { ...testDeps({ store, dispatch }), metrics: { scheduleFiring: (_fn: string, outcome: string, count = 1) => void (outcomes[outcome] = (outcomes[outcome] ?? 0) + count) } };
  const now = Date.now();
  store.schedules.insert({ id: 'cccccccccccc', fn: 'greet', source: 'cli', cron: '*/1 * * * * *', payload: null, overlap: 'skip', createdAt: new Date(now - 10_000).toISOString(), lastFired: now - 10_000 });
  const scheduler = createScheduler(deps, { log, graceMs: 1000 });
  scheduler.start();
  await new Promise((resolve) => setTimeout(resolve, 2_300));
  release();
  await scheduler.stop();
  const more = Number(/missed (\d+) more firings/.exec(lines.join('\n'))?.[1] ?? 0);
  t.is(outcomes.missed, lines.filter((line) => line.includes('missed its firing at')).length + more);
  t.is(outcomes.fired, triggers.length);
  t.true(outcomes.fired >= 1);
  t.is(outcomes.skipped, lines.filter((line) => line.includes('skipped its firing')).length);
  t.true(outcomes.skipped >= 1);
  t.deepEqual(new Set(triggers), new Set(['schedule']));
});

test("a firing's function is warmed ahead of it: the warm call comes first and covers the firing's time", async (t) => {
  const { store, deps, calls, log } = setup();
  const now = Date.now();
  store.schedules.insert({ id: 'bbbbbbbbbbbb', fn: 'greet', source: 'cli', cron: '*/1 * * * * *', payload: null, overlap: 'skip', createdAt: new Date(now).toISOString(), lastFired: now });
  const order: string[] = [];
  const warmed: { fn: string; until: number }[] = [];
  const counting: typeof deps.dispatch = { ...deps.dispatch, request: async (fn, request) => (order.push('fire'), deps.dispatch.request(fn, request)) };
  const scheduler = createScheduler({ ...deps, dispatch: counting }, { log, graceMs: 1000, warmAheadMs: 500, warm: (fn, until) => (order.push('warm'), warmed.push({ fn, until })) });
  scheduler.start();
  while (calls.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
  await scheduler.stop();
  t.is(order[0], 'warm', order.join(' '));
  t.is(order.indexOf('fire'), 1, order.join(' '));
  t.is(warmed[0].fn, 'greet');
  const firstTime = Date.parse((calls[0] as { time: string }).time);
  t.is(warmed[0].until, firstTime + 10_000, 'wanted through its firing and a little after');
});

test('no warming without a lead time', async (t) => {
  const { store, deps, calls, log } = setup();
  const now = Date.now();
  store.schedules.insert({ id: 'cccccccccccc', fn: 'greet', source: 'cli', cron: '*/1 * * * * *', payload: null, overlap: 'skip', createdAt: new Date(now).toISOString(), lastFired: now });
  const warmed: string[] = [];
  const scheduler = createScheduler(deps, { log, graceMs: 1000, warmAheadMs: 0, warm: (fn) => warmed.push(fn) });
  scheduler.start();
  while (calls.length < 1) await new Promise((resolve) => setTimeout(resolve, 20));
  await scheduler.stop();
  t.deepEqual(warmed, []);
});
