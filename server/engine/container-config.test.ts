// An instance's (and a cell's) container configuration, read without an engine: no image HEALTHCHECK runs in it.
import test from 'ava';
import { cellConfig, containerConfig } from './container-config.js';
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

test('a cell boots with an instance\'s hardening, its task folder read-only, and nothing of a function', (t) => {
  const config = cellConfig({ runtime: 'node20', id: 'c1', image: 'lambda/cell-node20:x', memoryBytes: 128 * 1024 * 1024, socketDir: '/data/instances/c1', taskDir: '/data/cells/tasks/c1', taskRoot: '/var/task' }, 'server-1', 'us-east-1');
  t.is(config.name, 'lambda-cell-node20-c1');
  t.is(config.User, '10001:10001');
  t.is(config.HostConfig?.NetworkMode, 'none');
  t.deepEqual(config.HostConfig?.Binds, ['/data/instances/c1:/run/lambda:ro', '/data/cells/tasks/c1:/var/task:ro']);
  t.deepEqual(config.Labels, { 'lambda.managed': 'false', 'lambda.server': 'server-1', 'lambda.instance': 'c1', 'lambda.cell': 'node20' });
  t.true(config.Env?.includes('LAMBDA_CELL=1'));
  t.false(config.Env?.some((entry) => /^(AWS_|LAMBDA_HANDLER|LAMBDA_FUNCTION_NAME)/.test(entry)));
});
