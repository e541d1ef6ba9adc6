// End to end: API tokens through the CLI against the real server: create, use, revoke; names that would reorder or
// split what a reader sees refused; and the key of an earlier LAMBDA_API_KEY revoked by a restart with a new one,
// while created tokens stay.
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import test from 'ava';
import { ROOT, command, requireDocker, startLambda, type CommandResult, type Lambda } from '../helpers/lambda.js';

interface Token {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

let lambda: Lambda;
let restarted: ChildProcess | undefined;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
});

test.after.always(async () => {
  if (restarted && restarted.exitCode === null) {
    const exited = new Promise((resolve) => restarted?.once('exit', resolve));
    restarted.kill('SIGTERM');
    await exited;
  }
  await lambda?.destroy();
});

/** The CLI against `base` with `key`, and no saved login. */
function cli(base: string, key: string, args: string[]): Promise<CommandResult> {
  return command(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli', 'main.ts'), ...args], {
    cwd: ROOT,
    env: { LAMBDA_URL: base, LAMBDA_API_KEY: key, LAMBDA_CONFIG: path.join(lambda.dataDir, 'cli.json') },
  });
}

async function tokens(base: string, key: string): Promise<Token[]> {
  const listed = await cli(base, key, ['tokens', 'list', '--json']);
  if (listed.code !== 0) throw new Error(`tokens list exited ${listed.code}: ${listed.stderr}`);
  return JSON.parse(listed.stdout) as Token[];
}

test.serial('a created token works until it is revoked, then gets 401 (exit 3)', async (t) => {
  const before = await tokens(lambda.base, lambda.key);
  t.deepEqual(before.map((token) => token.name), ['LAMBDA_API_KEY']);

  const created = await cli(lambda.base, lambda.key, ['tokens', 'create', '--name', 'ci', '--json']);
  t.is(created.code, 0, created.stderr);
  const token = JSON.parse(created.stdout) as Token & { key: string };
  t.regex(token.key, /^lambda_[A-Za-z0-9_-]{43}$/);
  t.is(token.name, 'ci');

  const used = await cli(lambda.base, token.key, ['list']);
  t.is(used.code, 0, used.stderr);
  // The same key opens git over HTTP: its ref listing answers (404 for a function that does not exist yet), not 401.
  const gitAuth = `Basic ${Buffer.from(`lambda:${token.key}`).toString('base64')}`;
  const refs = await lambda.fetch('/git/nothing-here.git/info/refs?service=git-upload-pack', { headers: { authorization: gitAuth } });
  t.not(refs.status, 401);

  const listed = await cli(lambda.base, lambda.key, ['tokens', 'list']);
  t.is(listed.code, 0, listed.stderr);
  t.regex(listed.stdout, /^ID\s+NAME\s+CREATED\s+LAST USED\s+SCOPE\n/);
  t.regex(listed.stdout, new RegExp(`^${token.id}\\s+ci\\s+\\S+\\s+\\d{4}-\\d{2}-\\d{2}T`, 'm'), 'last used is shown');
  t.false(listed.stdout.includes(token.key));

  const revoked = await cli(lambda.base, lambda.key, ['tokens', 'revoke', token.id]);
  t.is(revoked.code, 0, revoked.stderr);
  t.is(revoked.stdout, `Revoked token ${token.id}\n`);
  t.false((await tokens(lambda.base, lambda.key)).some((one) => one.id === token.id));

  const refused = await cli(lambda.base, token.key, ['list']);
  t.is(refused.code, 3);
  t.is(refused.stderr, ' !     a valid API token is required: the key came from LAMBDA_API_KEY in this environment; the admin key is printed once by the server\'s first start (`Admin API key`), else it is the server\'s LAMBDA_API_KEY (LAMBDA_ERR_UNAUTHORIZED)\n');
  const refusedGit = await lambda.fetch('/git/nothing-here.git/info/refs?service=git-upload-pack', { headers: { authorization: gitAuth } });
  t.is(refusedGit.status, 401);
});

test.serial('an unknown id exits 4; the last token cannot be revoked (exit 1) and keeps working', async (t) => {
  const unknown = await cli(lambda.base, lambda.key, ['tokens', 'revoke', '0000000000000000']);
  t.is(unknown.code, 4);
  t.regex(unknown.stderr, /\(LAMBDA_ERR_TOKEN_NOT_FOUND\)\n$/);

  const [only] = await tokens(lambda.base, lambda.key);
  const last = await cli(lambda.base, lambda.key, ['tokens', 'revoke', only?.id ?? '', '--json']);
  t.is(last.code, 1);
  t.is((JSON.parse(last.stderr) as { error: { code: string } }).error.code, 'LAMBDA_ERR_LAST_TOKEN');
  t.is((await cli(lambda.base, lambda.key, ['list'])).code, 0);
});

test.serial('a token name holding a line separator or bidi control is refused; list shows no such character', async (t) => {
  const before = await tokens(lambda.base, lambda.key);
  for (const name of ['ci\u2028 !     forged line', 'evil\u202egnp.exe', 'a\u2067b\u2069', 'zero\u200bwidth', 'odd\u00a0space']) {
    const made = await cli(lambda.base, lambda.key, ['tokens', 'create', '--name', name, '--json']);
    t.not(made.code, 0, JSON.stringify(name));
    t.is((JSON.parse(made.stderr) as { error: { code: string } }).error.code, 'LAMBDA_ERR_BAD_REQUEST', JSON.stringify(name));
  }
  const listed = await cli(lambda.base, lambda.key, ['tokens', 'list']);
  t.is(listed.code, 0, listed.stderr);
  t.false(/[\p{Cf}\p{Zl}\p{Zp}]/u.test(listed.stdout));
  t.is((await tokens(lambda.base, lambda.key)).length, before.length);
  t.false(/[\u2028\u202e\u2067]/.test(lambda.output()), 'no such character in the server log');
});

test.serial('a restart with a different LAMBDA_API_KEY rotates the admin key: the old one stops working, other tokens stay', async (t) => {
  const oldKey = lambda.key;
  const made = await cli(lambda.base, oldKey, ['tokens', 'create', '--name', 'ci', '--json']);
  t.is(made.code, 0, made.stderr);
  const kept = JSON.parse(made.stdout) as Token & { key: string };
  const newKey = `test_new_${Date.now()}`;
  await lambda.stop();
  const started = await startServer(newKey);
  restarted = started.child;
  const base = started.base;

  // The variable names the admin key: the key it held before is revoked with the start (a weak one cannot linger).
  t.is((await cli(base, oldKey, ['list'])).code, 3);
  t.is((await cli(base, newKey, ['list'])).code, 0);
  const listed = await tokens(base, newKey);
  t.deepEqual(listed.map((token) => token.name).sort(), ['LAMBDA_API_KEY', 'ci']);
  // A token someone created is not the variable's: it stays.
  t.is((await cli(base, kept.key, ['list'])).code, 0);
  t.true(listed.some((token) => token.id === kept.id));
});

/** The server again on the same data, with another LAMBDA_API_KEY (the harness restarts with the same key). */
async function startServer(key: string): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'server', 'main.ts')], {
    cwd: ROOT,
    env: { ...process.env, LAMBDA_DATA_DIR: path.join(lambda.dataDir, 'data'), LAMBDA_PORT: '0', LAMBDA_SSH_PORT: '0', LAMBDA_HOST: '127.0.0.1', LAMBDA_API_KEY: key },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const match = /\(port (\d+),/.exec(log);
      if (match) resolve(Number(match[1]));
    });
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  return { child, base: `http://127.0.0.1:${port}` };
}
