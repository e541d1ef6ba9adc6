// The classic builder's output becomes one line per step of the server's own Dockerfile, marked when Docker's layer
// cache served it; what a RUN step prints cannot make up a step.
import test from 'ava';
import { stepSummary } from './docker-images.js';

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
