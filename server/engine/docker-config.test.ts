// An instance's (and a cell's) container configuration, read without an engine: no image HEALTHCHECK runs in it.
import test from 'ava';
import { containerConfig } from './docker.js';
import { sandboxConfig } from './sandbox.js';

const spec = { fn: 'greet', version: 3, sha: 'abc', image: 'lambda-fn/greet:abc', handler: 'app.handler', timeoutMs: 3000, memoryBytes: 128 * 1024 * 1024, concurrency: 1, minInstances: 0, maxInstances: 2, env: {} };

test('an instance disables any HEALTHCHECK its image carries or inherits, so the engine never execs into it', (t) => {
  const config = containerConfig(spec, 'i1', '/data/instances/i1', 'server-1', 'us-east-1');
  t.deepEqual(config.Healthcheck, { Test: ['NONE'] });
  t.is(config.User, '10001:10001');
});

test('an install or build job does too', (t) => {
  const config = sandboxConfig(
    { image: 'lambda/base-python3:x', command: ['python3'], env: {}, workingDir: '/work', inputDir: '/in', inputMount: '/lambda-install', scratch: {}, memoryBytes: 1024, timeoutMs: 1000, labels: {} },
    'server-1',
  );
  t.deepEqual(config.Healthcheck, { Test: ['NONE'] });
});
