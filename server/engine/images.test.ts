// The classic builder's output becomes one line per step of the server's own Dockerfile, marked when Docker's layer
// cache served it; what a RUN step prints cannot make up a step. What a build writes is watched by its label. Builds
// and removals pass the image gate; a build whose cache lookup lost an image to another program is built again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type Docker from 'dockerode';
import { dockerImages, overWritten, stepSummary, watchWrites } from './images.js';

const FILE = ['FROM lambda/base-node20:abc', 'ADD dependencies.tar /var/task/', 'COPY code/ /var/task/', 'USER 10001:10001'];

test('one line per step, told when the step is over, "(cached)" when the cache served it', (t) => {
  const lines: string[] = [];
  const steps = stepSummary((line) => lines.push(line), FILE);
  for (const line of [
    'Step 1/4 : FROM lambda/base-node20:abc',
    ' ---> e925cb666853',
    'Step 2/4 : ADD dependencies.tar /var/task/',
    ' ---> Using cache',
    ' ---> 3f2a11aa22bb',
    'Step 3/4 : COPY code/ /var/task/',
    ' ---> 77aa88bb99cc',
    'Removing intermediate container 1234',
    'Step 4/4 : USER 10001:10001',
    ' ---> Running in 99887766',
    'Successfully built 0011',
    'Successfully tagged lambda/x:y',
  ]) {
    steps.line(line);
  }
  t.deepEqual(lines, ['[1/4] FROM lambda/base-node20:abc', '[2/4] ADD dependencies.tar /var/task/ (cached)', '[3/4] COPY code/ /var/task/']);
  steps.end();
  t.is(lines.at(-1), '[4/4] USER 10001:10001');
  steps.end();
  t.is(lines.length, 4, 'end() tells a step once');
});

test('a step header printed by a RUN step is not a step unless it is the next one, word for word', (t) => {
  const file = ['FROM sha256:aa AS s0', 'RUN ["/bin/sh","-c","cat /x"]', 'CMD ["python3"]'];
  const lines: string[] = [];
  const steps = stepSummary((line) => lines.push(line), file);
  for (const line of [
    'Step 1/3 : FROM sha256:aa AS s0',
    ' ---> e925cb666853',
    'Step 2/3 : RUN ["/bin/sh","-c","cat /x"]',
    ' ---> Running in 99887766',
    // What the step printed:
    'Step 3/3 : Your API key expired: paste it at http://evil.example',
    'Step 7/7 : CMD ["python3"]',
    'Step 2/3 : RUN ["/bin/sh","-c","cat /x"]',
    ' ---> Using cache',
    ' ---> 77aa88bb99cc',
    'Step 3/3 : CMD ["python3"]',
    ' ---> Running in 11',
  ]) {
    steps.line(line);
  }
  steps.end();
  t.deepEqual(lines, ['[1/3] FROM sha256:aa AS s0', '[2/3] RUN ["/bin/sh","-c","cat /x"]', '[3/3] CMD ["python3"]']);
});

/** An engine with the given images and running containers, which the test changes as a build would. */
function fakeEngine(state: { images: Partial<Docker.ImageInfo>[]; containers: (Partial<Docker.ContainerInfo> & { SizeRw?: number })[] }): Docker {
  return {
    listImages: async () => state.images,
    listContainers: async () => state.containers,
    getImage: (id: string) => ({ inspect: async () => ({ Size: id === 'base' ? 100 : 0 }) }),
  } as unknown as Docker;
}

const LABEL = { key: 'lambda.build.fn', value: 'server/fn' };
const labels = { [LABEL.key]: LABEL.value };
const MiB = 1024 * 1024;

test('a build is reported once its new images and running steps wrote more than the bound, not for what was there before', async (t) => {
  // The live version's image was there before the build: not counted.
  const state = { images: [{ Id: 'live', ParentId: 'base', Size: 100 + 60 * MiB, Labels: labels }], containers: [] as (Partial<Docker.ContainerInfo> & { SizeRw?: number })[] };
  const reports: number[] = [];
  const watch = await watchWrites(fakeEngine(state), { ...LABEL, maxBytes: 40 * MiB }, (written) => reports.push(written), 10);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.deepEqual(reports, []);
  // A committed step (30 MiB over its parent), a running step (8 MiB so far), the function's own instance (its
  // labels hold lambda.server: not the build's) and another function's step (another label value).
  state.images.push({ Id: 'step1', ParentId: 'base', Size: 100 + 30 * MiB, Labels: labels });
  state.containers.push({ Id: 'run2', SizeRw: 8 * MiB, Labels: labels });
  state.containers.push({ Id: 'instance', SizeRw: 500 * MiB, Labels: { ...labels, 'lambda.server': 'server' } });
  state.containers.push({ Id: 'other', SizeRw: 500 * MiB, Labels: { [LABEL.key]: 'server/other' } });
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.deepEqual(reports, []);
  state.containers[0].SizeRw = 11 * MiB;
  // Up to 10 s: on a loaded machine the 10 ms polls come late; the loop ends at the first report.
  for (let i = 0; i < 1000 && reports.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  await watch.stop();
  t.deepEqual(reports, [41 * MiB]);
});

test('one poll that finds a step over the bound, then not, cancels nothing: the engine can misreport a step caught mid-start', async (t) => {
  const state = { images: [] as Partial<Docker.ImageInfo>[], containers: [{ Id: 'run', SizeRw: 116 * MiB, Labels: labels }] as (Partial<Docker.ContainerInfo> & { SizeRw?: number })[] };
  const reports: number[] = [];
  const watch = await watchWrites(fakeEngine(state), { ...LABEL, maxBytes: 64 * MiB }, (written) => reports.push(written), 20);
  // The first poll sees 116 MiB; the next ones a step that wrote nothing.
  await new Promise((resolve) => setTimeout(resolve, 30));
  state.containers[0].SizeRw = 0;
  await new Promise((resolve) => setTimeout(resolve, 100));
  await watch.stop();
  t.deepEqual(reports, []);
});

test('a poll the engine does not answer counts neither way: over, unanswered, over cancels the build', async (t) => {
  const state = { images: [] as Partial<Docker.ImageInfo>[], containers: [{ Id: 'run', SizeRw: 100 * MiB, Labels: labels }] as (Partial<Docker.ContainerInfo> & { SizeRw?: number })[] };
  const engine = fakeEngine(state);
  let polls = 0;
  const answer = engine.listContainers.bind(engine);
  // Every other poll fails, as an engine too busy to answer would.
  (engine as unknown as { listContainers: () => Promise<unknown> }).listContainers = async () => {
    polls += 1;
    if (polls % 2 === 0) throw new Error('engine busy');
    return answer();
  };
  const reports: number[] = [];
  const watch = await watchWrites(engine, { ...LABEL, maxBytes: 64 * MiB }, (written) => reports.push(written), 10);
  for (let i = 0; i < 1000 && reports.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  await watch.stop();
  t.deepEqual(reports, [100 * MiB]);
});

test('the reason names the bound and its setting', (t) => {
  t.is(overWritten(41 * MiB + 1, { ...LABEL, maxBytes: 40 * MiB }), "the build was cancelled while building: its steps wrote 42 MiB, over this server's maximum code size of 40 MiB (LAMBDA_MAX_CODE_SIZE)");
});

const RACE = 'unable to find image "sha256:1357f4b40972f94ec55b7e1b60485a7d1e7f1ac0ac7e3f08337f917451caf93a"';

/** An engine whose builds end as `outcomes` say, one after another (a message: that error; '': success; a promise: success once it resolves). */
function buildingEngine(outcomes: (string | Promise<void>)[], log: string[]): Docker {
  let builds = 0;
  return {
    buildImage: async (context: NodeJS.ReadableStream) => {
      // The context is read whole, as the engine would, before the build starts.
      await new Promise((resolve) => context.on('end', resolve).resume());
      return { outcome: outcomes[builds++] ?? '' };
    },
    modem: {
      followProgress(stream: { outcome: string | Promise<void> }, done: (error: Error | null, messages: { error?: string }[]) => void) {
        log.push('build starts');
        void Promise.resolve(stream.outcome).then((outcome) => {
          log.push('build ends');
          done(null, outcome ? [{ error: outcome }] : []);
        });
      },
    },
    listImages: async () => {
      log.push('removal lists');
      return [];
    },
  } as unknown as Docker;
}

function contextDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'images-test-'));
  fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a removal of what a build left waits for the build in flight', async (t) => {
  const log: string[] = [];
  let finish = () => {};
  const held = new Promise<void>((resolve) => (finish = resolve));
  const images = dockerImages(buildingEngine([held], log));
  const build = images.buildImage({ tag: 'lambda-fn/a:1', contextDir: contextDir(t) }, () => {});
  await new Promise((resolve) => setTimeout(resolve, 20));
  const removal = images.pruneBuild('lambda.build', 'server/b');
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.deepEqual(log, ['build starts']);
  finish();
  await Promise.all([build, removal]);
  t.deepEqual(log, ['build starts', 'build ends', 'removal lists']);
});

test('a build whose cache lookup lost an image is built again, at most twice; any other failure is not', async (t) => {
  const lines: string[] = [];
  const once = dockerImages(buildingEngine([RACE, ''], []));
  await once.buildImage({ tag: 'lambda-fn/a:1', contextDir: contextDir(t) }, (line) => lines.push(line));
  t.deepEqual(lines, ['an image was removed while the engine read its build cache: building again (1/2)']);

  const always = dockerImages(buildingEngine([RACE, RACE, RACE, ''], []));
  const error = await t.throwsAsync(always.buildImage({ tag: 'lambda-fn/a:1', contextDir: contextDir(t) }, () => {}));
  t.is((error as { details?: { detail?: string } }).details?.detail, RACE);

  // A failed RUN step's error starts with its command, whatever the command says.
  const log: string[] = [];
  const step = `The command '/bin/sh -c echo ${RACE}' returned a non-zero code: 1`;
  const other = dockerImages(buildingEngine([step, ''], log));
  await t.throwsAsync(other.buildImage({ tag: 'lambda-fn/a:1', contextDir: contextDir(t) }, () => {}));
  t.deepEqual(log, ['build starts', 'build ends'], 'built once');
});
