// The boot limiter: a bound on boots at once, starts served before cells.
import test from 'ava';
import { BootRefused, createBootLimiter } from './boots.js';

/** A boot that ends when told to. */
function gate() {
  let open!: () => void;
  const done = new Promise<void>((resolve) => (open = resolve));
  return { open, done };
}

test('no more than the limit boot at once; the rest wait and run in turn', async (t) => {
  const limiter = createBootLimiter(2);
  const gates = Array.from({ length: 5 }, gate);
  const began: number[] = [];
  const runs = gates.map((g, i) => limiter.run('start', async () => { began.push(i); await g.done; return i; }));
  await Promise.resolve();
  await Promise.resolve();
  t.deepEqual(began, [0, 1]);
  t.deepEqual(limiter.counts(), { running: 2, waiting: 3 });
  gates[0].open();
  await runs[0];
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(began, [0, 1, 2]);
  for (const g of gates) g.open();
  t.deepEqual(await Promise.all(runs), [0, 1, 2, 3, 4]);
  t.deepEqual(limiter.counts(), { running: 0, waiting: 0 });
});

test('a waiting classic start goes before waiting cells', async (t) => {
  const limiter = createBootLimiter(1);
  const first = gate();
  const order: string[] = [];
  const busy = limiter.run('cell', () => first.done);
  const cells = [limiter.run('cell', async () => void order.push('cell a')), limiter.run('cell', async () => void order.push('cell b'))];
  const start = limiter.run('start', async () => void order.push('start'));
  first.open();
  await Promise.all([busy, start, ...cells]);
  t.deepEqual(order, ['start', 'cell a', 'cell b']);
});

test('a failed boot frees its turn and its error reaches its caller', async (t) => {
  const limiter = createBootLimiter(1);
  await t.throwsAsync(limiter.run('start', () => Promise.reject(new Error('no'))), { message: 'no' });
  t.is(await limiter.run('start', async () => 'next'), 'next');
  t.deepEqual(limiter.counts(), { running: 0, waiting: 0 });
});

/** Lets every promise callback queued so far run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A boot that records its name when it begins and ends when its gate opens. */
function recorder() {
  const began: string[] = [];
  const gates = new Map<string, ReturnType<typeof gate>>();
  const boot = (name: string) => async () => {
    began.push(name);
    const g = gate();
    gates.set(name, g);
    await g.done;
    return name;
  };
  const open = (name: string) => gates.get(name)?.open();
  return { began, boot, open };
}

test('waiting starts are served round-robin by function, not first come first served', async (t) => {
  const limiter = createBootLimiter(1);
  const { began, boot, open } = recorder();
  const runs = [
    limiter.run('start', boot('busy'), { key: 'z' }),
    ...['a1', 'a2', 'a3'].map((name) => limiter.run('start', boot(name), { key: 'a' })),
    limiter.run('start', boot('b1'), { key: 'b' }),
    limiter.run('start', boot('c1'), { key: 'c' }),
  ];
  for (const name of ['busy', 'a1', 'b1', 'c1', 'a2', 'a3']) {
    await settle();
    open(name);
  }
  await Promise.all(runs);
  t.deepEqual(began, ['busy', 'a1', 'b1', 'c1', 'a2', 'a3']);
});

test('one function holds at most half the turns: another function\'s start begins at once during its flood', async (t) => {
  const limiter = createBootLimiter(4);
  const { began, boot, open } = recorder();
  const flood = Array.from({ length: 10 }, (_, i) => limiter.run('start', boot(`flood${i}`), { key: 'slow' }));
  await settle();
  t.deepEqual(began, ['flood0', 'flood1']);
  t.deepEqual(limiter.counts(), { running: 2, waiting: 8 });
  const other = limiter.run('start', boot('other'), { key: 'fast' });
  await settle();
  t.deepEqual(began, ['flood0', 'flood1', 'other'], 'the other function did not wait behind the flood');
  open('other');
  t.is(await other, 'other');
  for (let i = 0; i < 10; i += 1) {
    await settle();
    open(`flood${i}`);
  }
  await Promise.all(flood);
  t.deepEqual(limiter.counts(), { running: 0, waiting: 0 });
});

test('a turn a capped function cannot use goes to a waiting cell', async (t) => {
  const limiter = createBootLimiter(2);
  const { began, boot, open } = recorder();
  const runs = [limiter.run('start', boot('a1'), { key: 'a' }), limiter.run('start', boot('a2'), { key: 'a' }), limiter.run('cell', boot('cell'))];
  await settle();
  t.deepEqual(began, ['a1', 'cell']);
  for (const name of ['a1', 'cell', 'a2']) {
    open(name);
    await settle();
  }
  await Promise.all(runs);
});

test('a boot gives its turn back when its process dialled in, while the boot goes on', async (t) => {
  const limiter = createBootLimiter(1);
  const { began, boot, open } = recorder();
  const dialled = gate();
  const healthy = gate();
  const first = limiter.run(
    'start',
    async (turn) => {
      await dialled.done;
      turn.release();
      turn.release();
      await healthy.done;
      return 'first';
    },
    { key: 'a' },
  );
  const second = limiter.run('start', boot('second'), { key: 'b' });
  await settle();
  t.deepEqual(began, []);
  dialled.open();
  await settle();
  t.deepEqual(began, ['second']);
  t.deepEqual(limiter.counts(), { running: 1, waiting: 0 }, 'a turn given back twice counts once');
  open('second');
  healthy.open();
  t.deepEqual(await Promise.all([first, second]), ['first', 'second']);
  t.deepEqual(limiter.counts(), { running: 0, waiting: 0 });
});

test('a process that has not dialled in gives its turn back after the hold, and its boot still finishes', async (t) => {
  const limiter = createBootLimiter(1, { holdMs: 10 });
  const { began, boot, open } = recorder();
  const sleeping = gate();
  const first = limiter.run(
    'start',
    async (turn) => {
      turn.spawned();
      await sleeping.done;
      return 'slept';
    },
    { key: 'slow' },
  );
  const second = limiter.run('start', boot('second'), { key: 'fast' });
  await settle();
  t.deepEqual(began, [], 'the turn is held until the hold is over');
  const third = limiter.run('start', boot('third'), { key: 'fast' });
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.deepEqual(began, ['second'], 'the next boot began while the sleeping process still slept');
  open('second');
  await second;
  await settle();
  t.deepEqual(began, ['second', 'third']);
  open('third');
  sleeping.open();
  t.deepEqual(await Promise.all([first, third]), ['slept', 'third']);
  t.deepEqual(limiter.counts(), { running: 0, waiting: 0 });
});

test('a boot waits for its turn at most maxWaitMs, then is refused; one served in time is not', async (t) => {
  const limiter = createBootLimiter(1);
  const { boot, open } = recorder();
  const busy = limiter.run('start', boot('busy'), { key: 'a' });
  const late = limiter.run('start', boot('late'), { key: 'b', maxWaitMs: 10 });
  const served = limiter.run('start', async (turn) => turn.waitedMs, { key: 'c', maxWaitMs: 60_000 });
  const error = await t.throwsAsync(late, { instanceOf: BootRefused, message: /no turn to boot came within 10 ms \(LAMBDA_BOOTS: 1 at once\)/ });
  t.truthy(error);
  t.deepEqual(limiter.counts(), { running: 1, waiting: 1 });
  open('busy');
  await busy;
  t.true((await served) > 0, 'it reports that it waited');
  t.deepEqual(limiter.counts(), { running: 0, waiting: 0 });
});

test('cancel gives up one function\'s boots: waiting ones are refused, running ones see their signal, others go on', async (t) => {
  const limiter = createBootLimiter(2);
  const { began, boot, open } = recorder();
  let abortedWith: unknown;
  const running = limiter.run(
    'start',
    (turn) =>
      new Promise<string>((_resolve, reject) => {
        turn.signal.addEventListener('abort', () => {
          abortedWith = turn.signal.reason;
          reject(turn.signal.reason as Error);
        });
      }),
    { key: 'gone' },
  );
  const queued = [limiter.run('start', boot('gone2'), { key: 'gone' }), limiter.run('start', boot('gone3'), { key: 'gone' })];
  const other = limiter.run('start', boot('other'), { key: 'kept' });
  await settle();
  t.deepEqual(began, ['other']);
  t.is(limiter.cancel('gone', 'the function was deleted'), 3);
  for (const each of [running, ...queued]) await t.throwsAsync(each, { instanceOf: BootRefused, message: 'the function was deleted' });
  t.true(abortedWith instanceof BootRefused);
  t.deepEqual(began, ['other'], 'no cancelled boot began');
  t.is(limiter.cancel('gone', 'again'), 0);
  open('other');
  t.is(await other, 'other');
  t.is(await limiter.run('start', async () => 'later', { key: 'gone' }), 'later', 'a later boot of the name runs');
  t.deepEqual(limiter.counts(), { running: 0, waiting: 0 });
});

test('close refuses every waiting boot at once, aborts running ones and refuses later ones', async (t) => {
  const limiter = createBootLimiter(1);
  const running = limiter.run('start', (turn) => new Promise<void>((_resolve, reject) => turn.signal.addEventListener('abort', () => reject(turn.signal.reason as Error))), { key: 'a' });
  const waiting = Array.from({ length: 50 }, (_, i) => limiter.run(i % 2 ? 'cell' : 'start', async () => 'ran', { key: `f${i % 5}` }));
  await settle();
  t.deepEqual(limiter.counts(), { running: 1, waiting: 50 });
  limiter.close('the server is stopping');
  const results = await Promise.allSettled([running, ...waiting]);
  t.true(results.every((result) => result.status === 'rejected' && result.reason instanceof BootRefused && result.reason.message === 'the server is stopping'));
  await t.throwsAsync(limiter.run('start', async () => 'after'), { instanceOf: BootRefused });
  t.deepEqual(limiter.counts(), { running: 0, waiting: 0 });
});
