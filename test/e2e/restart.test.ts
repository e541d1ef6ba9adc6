// End to end: after SIGTERM or SIGKILL and a restart, every function serves its live version and no container leaks.
import path from 'node:path';
import test from 'ava';
import { ROOT, command, example, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
  for (const name of ['alpha', 'beta']) {
    const push = await lambda.push(name, example('greet'));
    if (push.code !== 0) throw new Error(`could not deploy ${name}: ${push.stderr}`);
  }
});

test.after.always(async () => {
  await lambda?.destroy();
});

async function serves(name: string): Promise<unknown> {
  const response = await lambda.fetch(`/fn/${name}/?name=Again`);
  return { status: response.status, body: await response.json() };
}

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test.serial(`after ${signal} and a restart every function still serves its live version`, async (t) => {
    await lambda.restart(signal);
    for (const name of ['alpha', 'beta']) {
      t.deepEqual(await serves(name), { status: 200, body: { message: 'Hello, Again!' } });
      t.is((await lambda.containers(name)).length, 1, `exactly one container for ${name}`);
    }
    const listed = (await (await lambda.api('/api/v1/functions')).json()) as { functions: { name: string; live: { version: number } }[] };
    t.deepEqual(listed.functions.map((fn) => [fn.name, fn.live.version]), [['alpha', 1], ['beta', 1]]);
  });
}

test.serial('containers left by a killed server are adopted, not duplicated', async (t) => {
  const before = (await lambda.containers()).sort();
  t.is(before.length, 2);
  await lambda.restart('SIGKILL');
  t.regex(lambda.output(), /2 instances adopted/);
  t.deepEqual((await lambda.containers()).sort(), before);
});

test.serial('an instance frozen between requests when the server is killed is adopted and thawed, not replaced', async (t) => {
  const { command } = await import('../helpers/lambda.js');
  t.deepEqual(await serves('beta'), { status: 200, body: { message: 'Hello, Again!' } });
  const [container] = await lambda.containers('beta');
  // Idle instances are paused after LAMBDA_FREEZE_AFTER (1 s by default).
  const paused = async () => (await command('docker', ['inspect', '--format', '{{.State.Paused}}', container as string])).stdout.trim();
  const deadline = Date.now() + 20_000;
  while ((await paused()) !== 'true' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  t.is(await paused(), 'true', 'the idle instance was frozen');
  await lambda.restart('SIGKILL');
  t.regex(lambda.output(), /2 instances adopted/);
  t.deepEqual(await lambda.containers('beta'), [container], 'the same container serves');
  t.deepEqual(await serves('beta'), { status: 200, body: { message: 'Hello, Again!' } });
});

test.serial('a container of a version that is no longer live is removed at start', async (t) => {
  const push = await lambda.push('alpha', example('greet'), { files: { 'extra.txt': 'v2\n' } });
  t.is(push.code, 0, push.stderr);
  await lambda.stop('SIGKILL');
  // Simulate the crash window: the store says v2, but a v1 container is also still around.
  const { command } = await import('../helpers/lambda.js');
  const stale = await command('docker', ['run', '-d', '--network', 'none', '--label', 'lambda.managed=true', '--label', `lambda.server=${lambda.serverId()}`, '--label', 'lambda.function=alpha', '--label', 'lambda.version=0000000000000000000000000000000000000000', '--label', 'lambda.instance=stale0000000', '--entrypoint', 'node', `lambda-fn/alpha:${push.sha.slice(0, 12)}`, '-e', 'setInterval(()=>{},1000)']);
  t.is(stale.code, 0, stale.stderr);
  await lambda.restart('SIGKILL');
  t.is((await lambda.containers('alpha')).length, 1);
  t.deepEqual(await serves('alpha'), { status: 200, body: { message: 'Hello, Again!' } });
});

test.serial('a second server started on the same data folder refuses before it touches a container', async (t) => {
  t.deepEqual(await serves('alpha'), { status: 200, body: { message: 'Hello, Again!' } });
  const before = (await lambda.containers()).sort();
  t.true(before.length > 0);
  const second = await command(process.execPath, ['--import', 'tsx', path.join(ROOT, 'server', 'main.ts')], {
    cwd: ROOT,
    env: { LAMBDA_DATA_DIR: path.join(lambda.dataDir, 'data'), LAMBDA_PORT: '0', LAMBDA_HOST: '127.0.0.1', LAMBDA_SSH_PORT: '0', LAMBDA_API_KEY: lambda.key },
  });
  t.not(second.code, 0);
  t.regex(second.stdout + second.stderr, /another Lambda server is running on the data folder/);
  t.notRegex(second.stdout + second.stderr, /Restored/);
  t.deepEqual((await lambda.containers()).sort(), before);
  t.deepEqual(await serves('alpha'), { status: 200, body: { message: 'Hello, Again!' } });
});
