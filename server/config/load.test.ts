// Loading the settings: defaults, overrides by variable and by file, and a bad value refused with where it came from.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { PROJECT_ROOT, fileLabel, loadConfig } from './load.js';

/** A config file of its own holding `yaml`, loaded with `env`. */
function loadWith(t: { teardown(fn: () => void): void }, yaml: string, env: NodeJS.ProcessEnv = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'settings.yaml');
  fs.writeFileSync(file, yaml);
  return { load: () => loadConfig(env, file), file };
}

test('the byte path is on by default, off with LAMBDA_BYTE_PATH=off, and a value other than on/off is refused', (t) => {
  t.true(loadConfig({}).bytePath);
  t.false(loadConfig({ LAMBDA_BYTE_PATH: 'off' }).bytePath);
  t.true(loadConfig({ LAMBDA_BYTE_PATH: 'on' }).bytePath);
  t.throws(() => loadConfig({ LAMBDA_BYTE_PATH: 'maybe' }), { message: 'LAMBDA_BYTE_PATH="maybe" in the environment must be on or off' });
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
  t.throws(() => loadConfig({ LAMBDA_SSH_MAX_UNAUTHENTICATED: 'lots' }), { message: /^LAMBDA_SSH_MAX_UNAUTHENTICATED="lots" in the environment must be a whole number/ });
  t.throws(() => loadConfig({ LAMBDA_ASYNC_MAX_BYTES: '0Mi' }), { message: /^LAMBDA_ASYNC_MAX_BYTES="0Mi"/ });
});

test('the Dockerfile build pids limit: 512 by default, LAMBDA_DOCKER_BUILD_PIDS=0 for none, anything else refused', (t) => {
  t.is(loadConfig({}).limits.dockerBuildPids, 512);
  t.is(loadConfig({ LAMBDA_DOCKER_BUILD_PIDS: '0' }).limits.dockerBuildPids, 0);
  t.is(loadConfig({ LAMBDA_DOCKER_BUILD_PIDS: '64' }).limits.dockerBuildPids, 64);
  t.throws(() => loadConfig({ LAMBDA_DOCKER_BUILD_PIDS: 'lots' }), { message: /^LAMBDA_DOCKER_BUILD_PIDS="lots" in the environment must be a whole number/ });
});

test('the server-wide budget of slow key checks defaults to 100 per window and is set by LAMBDA_AUTH_SLOW_CHECKS', (t) => {
  t.is(loadConfig({}).limits.authSlowChecks, 100);
  t.is(loadConfig({ LAMBDA_AUTH_SLOW_CHECKS: '7' }).limits.authSlowChecks, 7);
  t.throws(() => loadConfig({ LAMBDA_AUTH_SLOW_CHECKS: 'none' }), { message: /LAMBDA_AUTH_SLOW_CHECKS/ });
});

test('logs, async and schedule settings come from the same table: defaults, variables, and the file', (t) => {
  const defaults = loadConfig({});
  t.deepEqual(defaults.logs, { fileBytes: 10 * 1024 * 1024, files: 3, ratePerSecond: 8 * 1024 * 1024 });
  t.deepEqual(defaults.async, { queueMax: 10_000, concurrency: 16, retryBaseMs: 60_000 });
  t.is(defaults.schedules.graceMs, 1000);
  // The variables keep their meaning: a bare number of milliseconds, a size in bytes or with its unit.
  const set = loadConfig({ LAMBDA_RETRY_BASE_MS: '100', LAMBDA_SCHEDULE_GRACE_MS: '0', LAMBDA_LOG_FILE_SIZE: '262144', LAMBDA_LOG_RATE: '64Ki' });
  t.is(set.async.retryBaseMs, 100);
  t.is(set.schedules.graceMs, 0);
  t.is(set.logs.fileBytes, 256 * 1024);
  t.is(set.logs.ratePerSecond, 64 * 1024);
  const { load } = loadWith(t, 'logs:\n  files: 7\nasync:\n  concurrency: 2\n');
  t.is(load().logs.files, 7);
  t.is(load().async.concurrency, 2);
});

test('a variable wins over the file, the file over the default; an empty variable counts as unset', (t) => {
  const { load } = loadWith(t, 'cells: 5\nscaling:\n  queueTimeoutMs: 2s\n', { LAMBDA_QUEUE_TIMEOUT: '3s', LAMBDA_CELLS: '' });
  const config = load();
  t.is(config.cells, 5);
  t.is(config.scaling.queueTimeoutMs, 3000);
  t.is(config.scaling.idleTimeoutMs, 5 * 60_000);
  t.is(config.keepImages, 10);
});

test('SSH binds where the HTTP listener does unless LAMBDA_SSH_HOST says otherwise; the domain is read lower-cased', (t) => {
  t.is(loadConfig({ LAMBDA_HOST: '127.0.0.1' }).sshHost, '127.0.0.1');
  t.is(loadConfig({ LAMBDA_HOST: '127.0.0.1', LAMBDA_SSH_HOST: '::1' }).sshHost, '::1');
  t.is(loadConfig({ LAMBDA_DOMAIN: 'Example.COM' }).domain, 'example.com');
  t.deepEqual(loadConfig({ LAMBDA_BASE_IMAGE_PYTHON3: 'official' }).baseImages, { node20: 'local', python3: 'official' });
});

// Each bad value names its source: the variable as it was set, or the file and the key.
const refusals: { title: string; yaml: string; env: NodeJS.ProcessEnv; message: string | RegExp }[] = [
  { title: 'a count from the environment', yaml: '', env: { LAMBDA_CELLS: '65' }, message: 'LAMBDA_CELLS="65" in the environment must be a whole number from 0 to 64' },
  { title: 'a count from the file', yaml: 'cells: 65\n', env: {}, message: 'cells: 65 in {file} must be a whole number from 0 to 64' },
  { title: 'a nested count from the file', yaml: 'keepImages: 3\nlimits:\n  authFailures: lots\n', env: {}, message: 'limits.authFailures: "lots" in {file} must be a whole number from 1 to 1000000' },
  { title: 'a duration from the environment', yaml: '', env: { LAMBDA_IDLE_TIMEOUT: '5 minutes' }, message: 'LAMBDA_IDLE_TIMEOUT="5 minutes" in the environment must be a duration such as "10s"' },
  { title: 'a duration from the file', yaml: 'scaling:\n  idleTimeoutMs: 5x\n', env: {}, message: 'scaling.idleTimeoutMs: "5x" in {file} must be a duration such as "10s"' },
  { title: 'a size below its floor from the environment', yaml: '', env: { LAMBDA_LOG_FILE_SIZE: '1Ki' }, message: 'LAMBDA_LOG_FILE_SIZE="1Ki" in the environment must be a size from 256Ki, such as "1Mi"' },
  { title: 'a size from the file', yaml: 'limits:\n  maxUploadBytes: 0Mi\n', env: {}, message: 'limits.maxUploadBytes: "0Mi" in {file} must be a size such as "64Mi"' },
  { title: 'on/off from the file', yaml: 'bytePath: yes\n', env: {}, message: 'bytePath: "yes" in {file} must be on or off' },
  { title: 'an engine that is neither from the environment', yaml: '', env: { LAMBDA_ENGINE: 'kubernetes' }, message: 'LAMBDA_ENGINE="kubernetes" in the environment must be "local" or "swarm"' },
  { title: 'a port from the environment', yaml: '', env: { LAMBDA_PORT: '70000' }, message: 'LAMBDA_PORT="70000" in the environment must be a port number from 0 to 65535' },
  { title: 'a duration over its bound from the environment', yaml: '', env: { LAMBDA_RETRY_BASE_MS: '2h' }, message: 'LAMBDA_RETRY_BASE_MS="2h" in the environment must be a duration such as "10s" (or 0), at most 1h' },
  { title: 'a mapping where a value goes', yaml: 'port:\n  http: 80\n', env: {}, message: 'port: {"http":80} in {file} must be a port number from 0 to 65535' },
  { title: 'a file that is not YAML', yaml: 'port: [8080\n', env: {}, message: /^\{file\}: / },
  { title: 'a key the table lacks', yaml: 'limits:\n  maxUpload: 1Mi\n', env: {}, message: '{file}: limits.maxUpload is not a setting (docs/configuration.md lists them)' },
  { title: 'an environment-only setting in the file', yaml: 'apiKey: abcdefghijklmnopqrstuvwxyz\n', env: {}, message: '{file}: apiKey is read from the environment only (LAMBDA_API_KEY)' },
];

for (const { title, yaml, env, message } of refusals) {
  test(`refused with its source: ${title}`, (t) => {
    const { load, file } = loadWith(t, yaml, env);
    t.throws(load, { message: typeof message === 'string' ? message.replace('{file}', file) : new RegExp(message.source.replace('\\{file\\}', file)) });
  });
}

test('the project file is named by its path in the project, any other by its own path', (t) => {
  t.is(fileLabel(path.join(PROJECT_ROOT, 'config', 'default.yaml')), 'config/default.yaml');
  t.is(fileLabel('/etc/lambda.yaml'), '/etc/lambda.yaml');
});
