// The classic builder's output becomes one line per step, marked when Docker's layer cache served it.
import test from 'ava';
import { stepSummary } from './docker-images.js';

test('one line per step, told when the step is over, "(cached)" when the cache served it', (t) => {
  const lines: string[] = [];
  const steps = stepSummary((line) => lines.push(line));
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
