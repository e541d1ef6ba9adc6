import test from 'ava';
import { loadConfig } from './config.js';

test('the byte path is on by default, off with LAMBDA_BYTE_PATH=off, and a value other than on/off is refused', (t) => {
  t.true(loadConfig({}).bytePath);
  t.false(loadConfig({ LAMBDA_BYTE_PATH: 'off' }).bytePath);
  t.true(loadConfig({ LAMBDA_BYTE_PATH: 'on' }).bytePath);
  t.throws(() => loadConfig({ LAMBDA_BYTE_PATH: 'maybe' }), { message: /LAMBDA_BYTE_PATH must be on or off, got "maybe"/ });
});

test('the Dockerfile build pids limit: 512 by default, LAMBDA_DOCKER_BUILD_PIDS=0 for none, anything else refused', (t) => {
  t.is(loadConfig({}).limits.dockerBuildPids, 512);
  t.is(loadConfig({ LAMBDA_DOCKER_BUILD_PIDS: '0' }).limits.dockerBuildPids, 0);
  t.is(loadConfig({ LAMBDA_DOCKER_BUILD_PIDS: '64' }).limits.dockerBuildPids, 64);
  t.throws(() => loadConfig({ LAMBDA_DOCKER_BUILD_PIDS: 'lots' }), { message: /LAMBDA_DOCKER_BUILD_PIDS \(limits.dockerBuildPids\) must be a whole number/ });
});
