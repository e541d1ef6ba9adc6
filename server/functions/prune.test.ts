// Pruning against a rollback that races it: the removal asks again, once the engine lets it in, whether its version
// may still go, so a version a change took or made live meanwhile keeps its image.
import test from 'ava';
import type { VersionRecord } from '../store/types.js';
import type { Engine } from '../instances/engine.js';
import { lockFunction } from './lock.js';
import { pruneImages, stillPrunable } from './prune.js';

const version = (number: number): VersionRecord => ({ fn: 'x', number, sha: `${number}`.repeat(40), image: `lambda-fn/reg:${number}`, manifest: '{}', createdAt: '' });

/**
 * A function (the lock is by the name each test prunes) with versions 1–3, v3 live, one image kept (so v1 and v2 may go), and an engine whose removals wait
 * (as behind a build) until the test lets them in; `keep` is asked then, as the engines ask it inside their gate.
 */
function setup() {
  const state = { live: 3 };
  const images = new Set(['lambda-fn/reg:1', 'lambda-fn/reg:2', 'lambda-fn/reg:3']);
  const waiting: (() => void)[] = [];
  const engine: Pick<Engine, 'imageExists' | 'removeImage'> = {
    imageExists: async (tag) => images.has(tag),
    removeImage: async (tag, keep) => {
      await new Promise<void>((resolve) => waiting.push(resolve));
      if (keep?.()) return;
      images.delete(tag);
    },
  };
  const deps = {
    store: {
      lifecycle: { versions: () => [version(3), version(2), version(1)] },
      functions: { get: () => ({ liveVersion: state.live }) },
    },
    engine,
    repos: { keep: async () => {} },
    keepImages: 1,
    log: () => {},
  } as unknown as Parameters<typeof pruneImages>[0];
  /** Resolves once a removal waits. */
  const removalWaits = async () => {
    while (waiting.length === 0) await new Promise((resolve) => setImmediate(resolve));
  };
  /** Lets the next removal in. */
  const letIn = async () => {
    await removalWaits();
    waiting.shift()?.();
  };
  return { state, images, deps, letIn, removalWaits };
}

test('a version rolled back to while its removal waited keeps its image, and is reported pending', async (t) => {
  const { state, images, deps, letIn, removalWaits } = setup();
  const pruning = pruneImages(deps, 'reg');
  // v2's removal waits (newest first); a rollback to v2 takes the function, finds its image, and makes it live.
  await removalWaits();
  const unlock = lockFunction('reg', 'rollback');
  t.true(await deps.engine.imageExists('lambda-fn/reg:2'));
  state.live = 2;
  await letIn();
  unlock();
  // v1's removal, after the rollback: still beyond the kept one and not live, it goes.
  await letIn();
  t.deepEqual(await pruning, { removed: ['lambda-fn/reg:1'], pending: ['lambda-fn/reg:2'] });
  t.true(images.has('lambda-fn/reg:2'), 'the live version keeps its image');
});

test('a removal let in while a change holds the function leaves the image', async (t) => {
  const { images, deps, letIn } = setup();
  const pruning = pruneImages(deps, 'held');
  const unlock = lockFunction('held', 'rollback');
  t.teardown(unlock);
  await letIn();
  await letIn();
  const { removed, pending } = await pruning;
  t.deepEqual(removed, []);
  t.deepEqual(pending.sort(), ['lambda-fn/reg:1', 'lambda-fn/reg:2']);
  t.is(images.size, 3);
});

test('with nothing in between, the versions beyond the kept ones go', async (t) => {
  const { images, deps, letIn } = setup();
  const pruning = pruneImages(deps, 'quiet');
  await letIn();
  await letIn();
  t.deepEqual(await pruning, { removed: ['lambda-fn/reg:2', 'lambda-fn/reg:1'], pending: [] });
  t.deepEqual([...images], ['lambda-fn/reg:3']);
  t.false(stillPrunable(deps, 'quiet', 3), 'the live one never');
});
