// The classic builder's output becomes one line per step of the server's own Dockerfile, marked when Docker's layer
// cache served it; what a RUN step prints cannot make up a step. What a build writes is watched by its label.
import test from 'ava';
import type Docker from 'dockerode';
import { overWritten, stepSummary, watchWrites } from './images.js';

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
  for (let i = 0; i < 100 && reports.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  await watch.stop();
  t.deepEqual(reports, [41 * MiB]);
});

test('the reason names the bound and its setting', (t) => {
  t.is(overWritten(41 * MiB + 1, { ...LABEL, maxBytes: 40 * MiB }), "the build was cancelled while building: its steps wrote 42 MiB, over this server's maximum code size of 40 MiB (LAMBDA_MAX_CODE_SIZE)");
});
