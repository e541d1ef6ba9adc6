// A version's push shares the engine's image gate: it waits while the gate is held alone (the registry's garbage
// collection), is counted while it runs, and is told to whoever keeps deletions to retry.
import test from 'ava';
import type Docker from 'dockerode';
import { createImageGate } from '../image-gate.js';
import { createPublisher } from './publish.js';

const DIGEST = `sha256:${'b'.repeat(64)}`;

/** An engine whose pushes record their start and end when the test says. */
function fakeEngine() {
  const events: string[] = [];
  let finish = () => {};
  const docker = {
    getImage: (name: string) => ({
      tag: async () => undefined,
      push: async () => {
        events.push(`push ${name}`);
        return {};
      },
      remove: async () => undefined,
    }),
    modem: {
      followProgress: (_stream: unknown, done: (error: Error | null, output: unknown[]) => void) => {
        finish = () => done(null, [{ status: 'pushed' }, { aux: { Digest: DIGEST } }]);
      },
    },
  } as unknown as Docker;
  return { docker, events, finish: () => finish() };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('a push waits while the gate is held alone, is counted while it runs, and is told once done', async (t) => {
  const engine = fakeEngine();
  const gate = createImageGate();
  const pushed: string[] = [];
  const publisher = createPublisher(engine.docker, { push: '127.0.0.1:5001', pull: '10.0.0.1:5000' }, { gate, pushed: (tag) => pushed.push(tag) });
  let release = () => {};
  const collection = gate.remove(() => new Promise<void>((resolve) => (release = resolve)));
  await tick();
  const published = publisher.publish('lambda-fn/greet:abc');
  await tick();
  t.deepEqual(engine.events, [], 'no push while the collection holds the gate');
  t.is(publisher.pushing(), 0);
  t.true(publisher.known('lambda-fn/greet:abc'), 'asked for: a deletion to retry of it is not made meanwhile');
  release();
  await collection;
  await tick();
  t.deepEqual(engine.events, ['push 127.0.0.1:5001/lambda-fn/greet:abc']);
  t.is(publisher.pushing(), 1);
  t.is(gate.state().building, 1, 'the push shares the gate as a build does');
  engine.finish();
  t.is(await published, `10.0.0.1:5000/lambda-fn/greet@${DIGEST}`);
  t.is(publisher.pushing(), 0);
  t.deepEqual(pushed, ['lambda-fn/greet:abc']);
  t.is(gate.state().building, 0);
  await publisher.forget('lambda-fn/greet:abc');
  t.false(publisher.known('lambda-fn/greet:abc'));
});

test('a digest the registry deleted is not handed out again: the tags it was theirs push again', async (t) => {
  const engine = fakeEngine();
  const publisher = createPublisher(engine.docker, { push: '127.0.0.1:5001', pull: '10.0.0.1:5000' }, { gate: createImageGate() });
  const first = publisher.publish('lambda-fn/reg:v2');
  await tick();
  engine.finish();
  t.is(await first, `10.0.0.1:5000/lambda-fn/reg@${DIGEST}`);
  await tick();
  publisher.dropped('lambda-fn/other', DIGEST);
  t.is(await publisher.publish('lambda-fn/reg:v2'), `10.0.0.1:5000/lambda-fn/reg@${DIGEST}`);
  t.is(engine.events.length, 1, "another repository's digest leaves the cache alone");
  publisher.dropped('lambda-fn/reg', DIGEST);
  t.false(publisher.known('lambda-fn/reg:v2'));
  const again = publisher.publish('lambda-fn/reg:v2');
  await tick();
  t.deepEqual(engine.events, ['push 127.0.0.1:5001/lambda-fn/reg:v2', 'push 127.0.0.1:5001/lambda-fn/reg:v2'], 'pushed again');
  engine.finish();
  t.is(await again, `10.0.0.1:5000/lambda-fn/reg@${DIGEST}`);
});
