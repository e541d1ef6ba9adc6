// Unit tests of config.ts: where the config lives, environment overrides, and the saved file's permissions.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { CliError, EXIT } from './errors.js';
import { DEFAULT_URL, configPath, loadConfig, requireToken, resolveConfig, writeConfig } from './config.js';

const test = anyTest as TestFn<{ dir: string }>;

test.beforeEach(async (t) => {
  t.context.dir = await mkdtemp(join(tmpdir(), 'lambda-cli-config-'));
});

test.afterEach.always(async (t) => {
  await rm(t.context.dir, { recursive: true, force: true });
});

test('LAMBDA_CONFIG names the file; otherwise XDG_CONFIG_HOME or ~/.config', (t) => {
  t.is(configPath({ LAMBDA_CONFIG: '/x/c.json', HOME: '/home/u' }), '/x/c.json');
  t.is(configPath({ XDG_CONFIG_HOME: '/xdg', HOME: '/home/u' }), '/xdg/lambda/config.json');
  t.is(configPath({ HOME: '/home/u' }), '/home/u/.config/lambda/config.json');
});

test('with nothing saved and no environment, the default URL and no API token', async (t) => {
  const config = await loadConfig({ LAMBDA_CONFIG: join(t.context.dir, 'missing.json') });
  t.deepEqual(config, { url: DEFAULT_URL, token: undefined });
  const error = t.throws(() => requireToken(config), { instanceOf: CliError });
  t.is(error?.exitStatus, EXIT.auth);
  t.regex(error?.message ?? '', /lambda login/);
});

test('the environment overrides the saved file, each variable on its own', async (t) => {
  const path = join(t.context.dir, 'config.json');
  await writeConfig(path, { url: 'http://saved:8080', apiKey: 'saved-key' });
  t.deepEqual(await loadConfig({ LAMBDA_CONFIG: path }), { url: 'http://saved:8080', token: 'saved-key' });
  t.deepEqual(await loadConfig({ LAMBDA_CONFIG: path, LAMBDA_URL: 'http://env:9000/' }), { url: 'http://env:9000', token: 'saved-key' });
  t.deepEqual(await loadConfig({ LAMBDA_CONFIG: path, LAMBDA_API_KEY: 'env-key' }), { url: 'http://saved:8080', token: 'env-key' });
  t.deepEqual(await loadConfig({ LAMBDA_CONFIG: path, LAMBDA_URL: '', LAMBDA_API_KEY: '' }), { url: 'http://saved:8080', token: 'saved-key' });
});

test('a bad LAMBDA_URL is a usage error', (t) => {
  const error = t.throws(() => resolveConfig({ LAMBDA_URL: 'localhost:8080' }, {}), { instanceOf: CliError });
  t.is(error?.exitStatus, EXIT.usage);
});

test('the saved file is 0600 in a directory created 0700', async (t) => {
  const path = join(t.context.dir, 'nested', 'lambda', 'config.json');
  await writeConfig(path, { url: 'http://h:8080', apiKey: 'k' });
  t.is((await stat(path)).mode & 0o777, 0o600);
  t.is((await stat(join(t.context.dir, 'nested', 'lambda'))).mode & 0o777, 0o700);
  t.deepEqual(JSON.parse(await readFile(path, 'utf8')), { url: 'http://h:8080', apiKey: 'k' });
});

test('a broken config file is an error that names it', async (t) => {
  const path = join(t.context.dir, 'config.json');
  await writeFile(path, '{not json');
  const error = await t.throwsAsync(loadConfig({ LAMBDA_CONFIG: path }), { instanceOf: CliError });
  t.true(error?.message.includes(path));
});
