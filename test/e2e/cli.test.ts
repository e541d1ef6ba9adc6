// End to end: the lambda CLI against a real server: deploy a directory, invoke, list, and its errors.
import os from 'node:os';
import test from 'ava';
import { example, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
});

test.after.always(async () => {
  await lambda?.destroy();
});

test.serial('lambda deploy ./dir --name greet commits the folder, builds and goes live', async (t) => {
  const deployed = await lambda.cli(['deploy', example('greet'), '--name', 'greet']);
  t.is(deployed.code, 0, deployed.stderr);
  const lines = deployed.stdout.split('\n');
  t.is(lines[0], '[1/3] Packaging function code... Done.');
  t.regex(lines[1], /^\[2\/3\] Building image "lambda-fn\/greet:[0-9a-f]{12}"\.\.\.$/);
  t.true(lines.some((line) => line === '[3/3] Starting container... Done.'));
  t.true(lines.includes(`Your function is live at: http://greet.localhost:${lambda.port}`));

  // The version is still a commit: the function's repository main points at it.
  const listed = await lambda.cli(['list', '--json']);
  t.is(listed.code, 0, listed.stderr);
  const functions = JSON.parse(listed.stdout) as { name: string; live: { sha: string; version: number } }[];
  const greet = functions.find((fn) => fn.name === 'greet');
  t.is(greet?.live.version, 1);
  t.regex(greet?.live.sha ?? '', /^[0-9a-f]{40}$/);
  t.true(lines[1].includes(greet?.live.sha.slice(0, 12) ?? 'missing'));
  const { command } = await import('../helpers/lambda.js');
  const head = await command('git', ['--git-dir', `${lambda.dataDir}/data/repos/greet.git`, 'rev-parse', 'main']);
  t.is(head.stdout.trim(), greet?.live.sha ?? 'missing');
});

test.serial('lambda invoke passes --data as the event', async (t) => {
  const invoked = await lambda.cli(['invoke', 'greet', '--data', '{"name":"World"}']);
  t.is(invoked.code, 0, invoked.stderr);
  t.deepEqual(JSON.parse(invoked.stdout), { message: 'Hello, World!' });
});

test.serial('lambda list shows the function, its live version and URL', async (t) => {
  const listed = await lambda.cli(['list']);
  t.is(listed.code, 0, listed.stderr);
  t.regex(listed.stdout, /NAME\s+VERSION\s+SHA\s+URL/);
  t.regex(listed.stdout, new RegExp(`greet\\s+v1\\s+[0-9a-f]{12}\\s+http://greet\\.localhost:${lambda.port}`));
});

test.serial("lambda nodes shows one node on one machine: this machine, a ready manager, running greet's instance", async (t) => {
  const shown = await lambda.cli(['nodes']);
  t.is(shown.code, 0, shown.stderr);
  const lines = shown.stdout.trimEnd().split('\n');
  t.regex(lines[0], /^ID\s+HOSTNAME\s+ROLE\s+STATE\s+AVAILABILITY\s+ENGINE\s+INSTANCES\s+CELLS$/);
  t.is(lines.length, 2, shown.stdout);
  t.regex(lines[1], new RegExp(`^\\S+\\s+${os.hostname()}\\s+manager\\s+ready\\s+active\\s+\\d+\\.\\S+\\s+\\d+\\s+\\d+$`));
  const json = await lambda.cli(['nodes', '--json']);
  t.is(json.code, 0, json.stderr);
  const [node, ...more] = JSON.parse(json.stdout) as { hostname: string; role: string; state: string; instances: number }[];
  t.deepEqual(more, []);
  t.like(node, { hostname: os.hostname(), role: 'manager', state: 'ready' });
  t.true(node.instances >= 1, 'the instance the deploy started and invoke used');
});

test.serial('a failing deploy from the CLI prints the error and exits non-zero; the live version stays', async (t) => {
  const failed = await lambda.cli(['deploy', fixture('syntax-error'), '--name', 'greet']);
  t.not(failed.code, 0);
  t.regex(failed.stderr, /LAMBDA_ERR_HEALTHCHECK_FAILED/);
  const invoked = await lambda.cli(['invoke', 'greet', '--data', '{"name":"Still"}']);
  t.deepEqual(JSON.parse(invoked.stdout), { message: 'Hello, Still!' });
});

test.serial('CLI errors go to stderr with the code and a non-zero exit', async (t) => {
  const missing = await lambda.cli(['invoke', 'nobody']);
  t.is(missing.code, 4);
  t.regex(missing.stderr, /^ ! {5}function "nobody" does not exist \(LAMBDA_ERR_FUNCTION_NOT_FOUND\)/m);
  const badKey = await lambda.cli(['list'], { env: { LAMBDA_API_KEY: 'wrong' } });
  t.is(badKey.code, 3);
  const badData = await lambda.cli(['invoke', 'greet', '--data', '{oops']);
  t.is(badData.code, 2);
});

test.serial('lambda login saves the URL and key, and later commands use them', async (t) => {
  const { command, ROOT } = await import('../helpers/lambda.js');
  const config = `${lambda.dataDir}/login.json`;
  const env = { ...process.env, LAMBDA_URL: '', LAMBDA_API_KEY: '', LAMBDA_CONFIG: config } as Record<string, string>;
  const login = await command(process.execPath, ['--import', 'tsx', `${ROOT}/cli/main.ts`, 'login', lambda.base, '--key', lambda.key], { env });
  t.is(login.code, 0, login.stderr);
  const listed = await command(process.execPath, ['--import', 'tsx', `${ROOT}/cli/main.ts`, 'list', '--json'], { env });
  t.is(listed.code, 0, listed.stderr);
  t.true((JSON.parse(listed.stdout) as { name: string }[]).some((fn) => fn.name === 'greet'));
});

test.serial('one exit-status rule: invalid names 2 before any request, --json errors as one line, --async queues', async (t) => {
  const badName = await lambda.cli(['invoke', 'Bad_Name']);
  t.is(badName.code, 2);
  t.regex(badName.stderr, /^ ! {5}invalid function name "Bad_Name": .* \(LAMBDA_ERR_INVALID_NAME\)\n$/);

  const json = await lambda.cli(['invoke', 'nobody', '--json']);
  t.is(json.code, 4);
  t.is(json.stdout, '');
  t.deepEqual(JSON.parse(json.stderr), { error: { code: 'LAMBDA_ERR_FUNCTION_NOT_FOUND', message: 'function "nobody" does not exist' } });

  const queued = await lambda.cli(['invoke', 'greet', '--async']);
  t.is(queued.code, 0, queued.stderr);
  t.regex(queued.stdout, /^Queued greet as invocation [0-9a-f-]{36}\n$/);

  const version = await lambda.cli(['--version']);
  t.is(version.code, 0);
  t.regex(version.stdout, /^\d+\.\d+\.\d+\n$/);
});
