import test from 'ava';
import { loadConfig } from './load.js';

test('the byte path is on by default, off with LAMBDA_BYTE_PATH=off, and a value other than on/off is refused', (t) => {
  t.true(loadConfig({}).bytePath);
  t.false(loadConfig({ LAMBDA_BYTE_PATH: 'off' }).bytePath);
  t.true(loadConfig({ LAMBDA_BYTE_PATH: 'on' }).bytePath);
  t.throws(() => loadConfig({ LAMBDA_BYTE_PATH: 'maybe' }), { message: /LAMBDA_BYTE_PATH must be on or off, got "maybe"/ });
});

test('the async queue and SSH bounds have defaults and are overridden by their variables; a bad one is refused by name', (t) => {
  const defaults = loadConfig({});
  t.is(defaults.limits.asyncMaxBytes, 64 * 1024 * 1024);
  t.is(defaults.limits.asyncRetentionMs, 24 * 3_600_000);
  t.is(defaults.limits.asyncDeadLetterRetentionMs, 336 * 3_600_000);
  t.is(defaults.limits.sshMaxUnauthenticated, 100);
  t.is(defaults.limits.sshMaxUnauthenticatedPerAddress, 10);
  t.is(defaults.limits.sshLoginTimeoutMs, 10_000);
  const set = loadConfig({ LAMBDA_ASYNC_MAX_BYTES: '4Mi', LAMBDA_ASYNC_RETENTION: '2s', LAMBDA_SSH_MAX_UNAUTHENTICATED_PER_ADDRESS: '3' });
  t.is(set.limits.asyncMaxBytes, 4 * 1024 * 1024);
  t.is(set.limits.asyncRetentionMs, 2000);
  t.is(set.limits.sshMaxUnauthenticatedPerAddress, 3);
  t.throws(() => loadConfig({ LAMBDA_SSH_MAX_UNAUTHENTICATED: 'lots' }), { message: /LAMBDA_SSH_MAX_UNAUTHENTICATED \(limits.sshMaxUnauthenticated\) must be a whole number such as "10", got "lots"/ });
  t.throws(() => loadConfig({ LAMBDA_ASYNC_MAX_BYTES: '0Mi' }), { message: /LAMBDA_ASYNC_MAX_BYTES/ });
});

test('the Dockerfile build pids limit: 512 by default, LAMBDA_DOCKER_BUILD_PIDS=0 for none, anything else refused', (t) => {
  t.is(loadConfig({}).limits.dockerBuildPids, 512);
  t.is(loadConfig({ LAMBDA_DOCKER_BUILD_PIDS: '0' }).limits.dockerBuildPids, 0);
  t.is(loadConfig({ LAMBDA_DOCKER_BUILD_PIDS: '64' }).limits.dockerBuildPids, 64);
  t.throws(() => loadConfig({ LAMBDA_DOCKER_BUILD_PIDS: 'lots' }), { message: /LAMBDA_DOCKER_BUILD_PIDS \(limits.dockerBuildPids\) must be a whole number/ });
});

test('the server-wide budget of slow key checks defaults to 100 per window and is set by LAMBDA_AUTH_SLOW_CHECKS', (t) => {
  t.is(loadConfig({}).limits.authSlowChecks, 100);
  t.is(loadConfig({ LAMBDA_AUTH_SLOW_CHECKS: '7' }).limits.authSlowChecks, 7);
  t.throws(() => loadConfig({ LAMBDA_AUTH_SLOW_CHECKS: 'none' }), { message: /LAMBDA_AUTH_SLOW_CHECKS/ });
});
