// The boot limiter: a bound on boots at once, starts served before cells.
import test from 'ava';
import { createBootLimiter } from './boots.js';

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
