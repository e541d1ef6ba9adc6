// The image gate: builds run together, a removal runs alone, after the builds in flight and before builds that
// start during it; a removal that only waits holds back no build.
import test from 'ava';
import type Docker from 'dockerode';
import { createImageGate, imageGateOf } from './image-gate.js';

/** A piece of work that runs until `finish()` is called, noting when it starts and ends in `log`. */
function held(log: string[], name: string): { work: () => Promise<string>; finish(): void } {
  let finish = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    work: async () => {
      log.push(`${name} starts`);
      await done;
      log.push(`${name} ends`);
      return name;
    },
    finish: () => finish(),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('builds run side by side; a removal waits for every build in flight', async (t) => {
  const gate = createImageGate();
  const log: string[] = [];
  const a = held(log, 'build a');
  const b = held(log, 'build b');
  const r = held(log, 'removal');
  const building = [gate.build(a.work), gate.build(b.work)];
  const removal = gate.remove(r.work);
  await settle();
  t.deepEqual(log, ['build a starts', 'build b starts']);
  t.like(gate.state(), { building: 2, removing: false, removalsWaiting: 1 });
  a.finish();
  await settle();
  t.false(log.includes('removal starts'), 'one build still runs');
  b.finish();
  await settle();
  t.deepEqual(log.slice(-2), ['build b ends', 'removal starts']);
  r.finish();
  t.deepEqual(await Promise.all([...building, removal]), ['build a', 'build b', 'removal']);
});

test('a build starting during a removal waits for it to end, and a second removal waits for the first', async (t) => {
  const gate = createImageGate();
  const log: string[] = [];
  const r1 = held(log, 'removal 1');
  const r2 = held(log, 'removal 2');
  const b = held(log, 'build');
  const first = gate.remove(r1.work);
  const second = gate.remove(r2.work);
  const build = gate.build(b.work);
  await settle();
  t.deepEqual(log, ['removal 1 starts']);
  t.like(gate.state(), { removing: true, removalsWaiting: 1, buildsWaiting: 1 });
  r1.finish();
  await settle();
  // The waiting build goes before the waiting removal: removals wait for a moment no build runs.
  t.deepEqual(log, ['removal 1 starts', 'removal 1 ends', 'build starts']);
  b.finish();
  await settle();
  t.deepEqual(log.slice(-2), ['build ends', 'removal 2 starts']);
  r2.finish();
  await Promise.all([first, second, build]);
  t.deepEqual(gate.state(), { building: 0, removing: false, removalsWaiting: 0, buildsWaiting: 0 });
});

test('a removal waiting for builds holds back no new build', async (t) => {
  const gate = createImageGate();
  const log: string[] = [];
  const a = held(log, 'build a');
  const b = held(log, 'build b');
  const r = held(log, 'removal');
  const first = gate.build(a.work);
  const removal = gate.remove(r.work);
  const second = gate.build(b.work);
  await settle();
  t.deepEqual(log, ['build a starts', 'build b starts']);
  a.finish();
  b.finish();
  await settle();
  t.is(log.at(-1), 'removal starts');
  r.finish();
  await Promise.all([first, second, removal]);
});

test('a failing build or removal frees the gate', async (t) => {
  const gate = createImageGate();
  await t.throwsAsync(gate.build(() => Promise.reject(new Error('build failed'))), { message: 'build failed' });
  await t.throwsAsync(gate.remove(() => Promise.reject(new Error('engine gone'))), { message: 'engine gone' });
  t.is(await gate.build(async () => 'built'), 'built');
  t.is(await gate.remove(async () => 'removed'), 'removed');
  t.deepEqual(gate.state(), { building: 0, removing: false, removalsWaiting: 0, buildsWaiting: 0 });
});

test('a build admitted when a removal ends is counted before it resumes: a removal asked for then waits', async (t) => {
  const gate = createImageGate();
  const log: string[] = [];
  const r1 = held(log, 'removal 1');
  const b = held(log, 'build');
  const r2 = held(log, 'removal 2');
  const first = gate.remove(r1.work);
  const build = gate.build(b.work);
  await settle();
  r1.finish();
  await first;
  // The build was let in but has not resumed yet; a removal asked for now must not run beside it.
  const second = gate.remove(r2.work);
  await settle();
  t.deepEqual(log, ['removal 1 starts', 'removal 1 ends', 'build starts']);
  b.finish();
  await settle();
  t.is(log.at(-1), 'removal 2 starts');
  r2.finish();
  await Promise.all([build, second]);
});

test('every module reaching one engine shares its gate', (t) => {
  const docker = {} as Docker;
  t.is(imageGateOf(docker), imageGateOf(docker));
  t.not(imageGateOf(docker), imageGateOf({} as Docker));
});

test('a removal that waited its longest for a build that does not end goes ahead beside it; builds then wait for it', async (t) => {
  const gate = createImageGate(20);
  const log: string[] = [];
  const hog = held(log, 'long build');
  const r = held(log, 'removal');
  const later = held(log, 'later build');
  const hogging = gate.build(hog.work);
  const removal = gate.remove(r.work);
  await settle();
  t.deepEqual(log, ['long build starts'], 'the removal waits for the build at first');
  await new Promise((resolve) => setTimeout(resolve, 60));
  t.deepEqual(log, ['long build starts', 'removal starts'], 'then it goes ahead while the build still runs');
  const building = gate.build(later.work);
  await settle();
  t.false(log.includes('later build starts'), 'a build starting during the removal waits for it');
  r.finish();
  await removal;
  await settle();
  t.true(log.includes('later build starts'));
  later.finish();
  hog.finish();
  t.deepEqual(await Promise.all([hogging, building]), ['long build', 'later build']);
});
