// End to end: `lambda env` stored server-side, merged over lambda.yaml's env and applied to the live version
// without a build and with zero non-2xx answers under load; reserved names refused by the CLI, the API and in the manifest.
import test from 'ava';
import { example, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';
import { startLoad } from '../helpers/load.js';

let lambda: Lambda;

const message = async (name: string) => ((await (await lambda.fetch(`/fn/${name}/?name=Ann`)).json()) as { message: string }).message;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
});

test.after.always(async () => {
  await lambda?.destroy();
});

test.serial('env set takes effect on the live version without a build, under load with no non-2xx; unset goes back to lambda.yaml', async (t) => {
  const push = await lambda.push('envfn', example('greet'));
  t.is(push.code, 0, push.stderr);
  t.is(await message('envfn'), 'Hello, Ann!');
  const buildsBefore = (await (await lambda.api('/api/v1/functions/envfn/logs?build=1')).text()).split('\n').length;

  const load = startLoad(lambda, '/fn/envfn/?name=x', 10);
  let set;
  try {
    await load.until(/Hello, x!/);
    set = await lambda.cli(['env', 'set', 'envfn', 'GREETING=Bonjour', 'SECRET_TOKEN=s3cr3t=with=equals']);
    await load.until(/Bonjour, x!/);
  } finally {
    const answers = await load.stop();
    const failures = answers.filter((answer) => answer.status < 200 || answer.status > 299);
    t.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${answers.length} answers were not 2xx`);
  }
  t.is(set?.code, 0, set?.stderr);
  t.regex(set?.stdout ?? '', /Set GREETING, SECRET_TOKEN on envfn; v1 now serves with it \(no rebuild\)/);
  t.is(await message('envfn'), 'Bonjour, Ann!');

  // No build: still one version, the same image, and the kept deploy output is the first deploy's.
  const versions = ((await (await lambda.api('/api/v1/functions/envfn/versions')).json()) as { versions: { version: number; sha: string }[] }).versions;
  t.deepEqual(versions.map((v) => [v.version, v.sha]), [[1, push.sha]]);
  t.is((await (await lambda.api('/api/v1/functions/envfn/logs?build=1')).text()).split('\n').length, buildsBefore);

  // Masked unless --reveal; the manifest's values (in git anyway) are shown as they are.
  const masked = await lambda.cli(['env', 'envfn']);
  t.is(masked.code, 0, masked.stderr);
  t.notRegex(masked.stdout, /Bonjour|s3cr3t/);
  t.regex(masked.stdout, /^SECRET_TOKEN\s+••••••\s+lambda env set$/m);
  const revealed = await lambda.cli(['env', 'envfn', '--reveal']);
  t.regex(revealed.stdout, /^GREETING\s+Bonjour\s+lambda env set$/m);
  t.regex(revealed.stdout, /^SECRET_TOKEN\s+s3cr3t=with=equals\s+lambda env set$/m);
  const api = (await (await lambda.api('/api/v1/functions/envfn/env')).json()) as { vars: Record<string, string>; manifest: Record<string, string> };
  t.deepEqual(api, { name: 'envfn', vars: { GREETING: '••••••', SECRET_TOKEN: '••••••' }, manifest: { GREETING: 'Hello' }, revealed: false });

  const releases = (await (await lambda.api('/api/v1/functions/envfn/releases')).json()) as { releases: { kind: string; fromVersion: number; toVersion: number; detail: string; who: string }[] };
  t.like(releases.releases[0], { kind: 'env', fromVersion: 1, toVersion: 1, detail: 'set GREETING, SECRET_TOKEN' });
  t.regex(releases.releases[0]?.who ?? '', /^token LAMBDA_API_KEY/);

  // A redeploy keeps the env; a restart restores it.
  const again = await lambda.push('envfn', example('greet'), { files: { 'lambda.yaml': 'runtime: node20\nhandler: index.handler\nenv:\n  GREETING: Hi\n' } });
  t.is(again.code, 0, again.stderr);
  t.is(await message('envfn'), 'Bonjour, Ann!');
  await lambda.restart('SIGTERM');
  t.is(await message('envfn'), 'Bonjour, Ann!');

  const unset = await lambda.cli(['env', 'unset', 'envfn', 'GREETING']);
  t.is(unset.code, 0, unset.stderr);
  t.is(await message('envfn'), 'Hi, Ann!');
  const after = (await (await lambda.api('/api/v1/functions/envfn/env?reveal=1')).json()) as { vars: Record<string, string> };
  t.deepEqual(after.vars, { SECRET_TOKEN: 's3cr3t=with=equals' });
});

test.serial('env unset of a name never set makes no release and starts nothing, and says so', async (t) => {
  const push = await lambda.push('unsetfn', example('greet'));
  t.is(push.code, 0, push.stderr);
  const set = await lambda.cli(['env', 'set', 'unsetfn', 'GREETING=Hej']);
  t.is(set.code, 0, set.stderr);
  const releases = async () => ((await (await lambda.api('/api/v1/functions/unsetfn/releases')).json()) as { releases: { kind: string; detail: string }[] }).releases;
  const before = await releases();
  const nope = await lambda.cli(['env', 'unset', 'unsetfn', 'NOPE']);
  t.is(nope.code, 0, nope.stderr);
  t.is(nope.stdout, 'NOPE is not set on unsetfn; nothing changed\n');
  t.deepEqual(await releases(), before);
  t.is(await message('unsetfn'), 'Hej, Ann!');
  // With a name that is set, only that one is unset, and the other is named.
  const mixed = await lambda.cli(['env', 'unset', 'unsetfn', 'GREETING', 'NOPE']);
  t.is(mixed.code, 0, mixed.stderr);
  t.is(mixed.stdout, 'Unset GREETING on unsetfn (NOPE was not set); v1 now serves without it (no rebuild)\n');
  t.like((await releases())[0], { kind: 'env', detail: 'unset GREETING' });
  t.is(await message('unsetfn'), 'Hello, Ann!');
});

const RESERVED = ['LAMBDA_TASK_ROOT', 'AWS_SECRET_ACCESS_KEY', 'NODE_OPTIONS', 'node_options', 'PATH', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'PYTHONPATH', 'PYTHONSTARTUP'];

test.serial('reserved names are refused by the CLI and the API, and nothing changes', async (t) => {
  const push = await lambda.push('guarded', example('greet'));
  t.is(push.code, 0, push.stderr);
  for (const key of RESERVED) {
    const cli = await lambda.cli(['env', 'set', 'guarded', `${key}=--require=/tmp/evil.js`]);
    t.is(cli.code, 2, key);
    t.regex(cli.stderr, new RegExp(`env ${key}: .*(reserved for the platform|change how the runtime starts).*\\(LAMBDA_ERR_ENV_RESERVED\\)`), key);
  }
  for (const body of [{ set: { LD_PRELOAD: '/tmp/x.so' } }, { set: { 'BAD-NAME': 'x' } }, { set: { '1X': 'x' } }, { set: { OK: 'nul\u0000byte' } }, { set: { OK: 'x'.repeat(40_000) } }, { unset: ['PATH'] }]) {
    const response = await lambda.api('/api/v1/functions/guarded/env', { method: 'POST', body: JSON.stringify(body) });
    t.is(response.status, 400, JSON.stringify(body).slice(0, 60));
    t.is(((await response.json()) as { error: { code: string } }).error.code, 'LAMBDA_ERR_ENV_RESERVED');
  }
  for (const body of ['not json', '[]', '{"set":{"A":1}}', '{"set":[]}', '{"unset":"A"}', '{}']) {
    const response = await lambda.api('/api/v1/functions/guarded/env', { method: 'POST', body });
    t.is(response.status, 400, body);
  }
  const env = (await (await lambda.api('/api/v1/functions/guarded/env?reveal=1')).json()) as { vars: Record<string, string> };
  t.deepEqual(env.vars, {});
  t.is(await message('guarded'), 'Hello, Ann!');
  const releases = (await (await lambda.api('/api/v1/functions/guarded/releases')).json()) as { releases: { kind: string }[] };
  t.deepEqual(releases.releases.map((r) => r.kind), ['deploy']);
  const missing = await lambda.cli(['env', 'set', 'no-such-fn', 'A=1']);
  t.is(missing.code, 4);
});

test.serial('a reserved name in lambda.yaml rejects the push, naming the key and line; the live version keeps serving', async (t) => {
  const push = await lambda.push('guarded', example('greet'), { files: { 'lambda.yaml': 'runtime: node20\nhandler: index.handler\nenv:\n  GREETING: Hey\n  LD_PRELOAD: /tmp/evil.so\n  PYTHONPATH: /tmp\n' } });
  t.not(push.code, 0);
  t.regex(push.stderr, /line 5: env\.LD_PRELOAD: NODE_OPTIONS, PATH, LD_\* and PYTHON\* change how the runtime starts/);
  t.regex(push.stderr, /line 6: env\.PYTHONPATH:/);
  t.is(await message('guarded'), 'Hello, Ann!');
});
