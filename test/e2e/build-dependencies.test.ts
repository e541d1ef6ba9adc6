// End to end: dependencies from the registry are installed by the platform in a hardened sandbox, real
// Lambda apps (Hono, Express + serverless-http) answer through the gateway, and a code-only change reuses the install.
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { example, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

const run = promisify(execFile);
let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
});

test.after.always(async () => {
  await lambda?.destroy();
});

interface SandboxSeen {
  user: string;
  network: string;
  readOnly: boolean;
  capDrop: string[];
  securityOpt: string[];
  binds: string[];
  pidsLimit: number;
  memory: number;
}

/** Records the configuration of every install container this server starts while `during` runs. */
async function watchSandboxes<T>(during: () => Promise<T>): Promise<{ result: T; seen: SandboxSeen[] }> {
  const seen = new Map<string, SandboxSeen>();
  let done = false;
  const poll = (async () => {
    while (!done) {
      const { stdout } = await run('docker', ['ps', '-q', '--filter', `label=lambda.server=${lambda.serverId()}`, '--filter', 'label=lambda.sandbox=true']);
      for (const id of stdout.split('\n').filter((line) => line && !seen.has(line))) {
        const inspected = await run('docker', ['inspect', id]).catch(() => undefined);
        if (!inspected) continue;
        const [info] = JSON.parse(inspected.stdout) as any[];
        seen.set(id, {
          user: info.Config.User,
          network: info.HostConfig.NetworkMode,
          readOnly: info.HostConfig.ReadonlyRootfs,
          capDrop: info.HostConfig.CapDrop,
          securityOpt: info.HostConfig.SecurityOpt,
          binds: info.HostConfig.Binds,
          pidsLimit: info.HostConfig.PidsLimit,
          memory: info.HostConfig.Memory,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    return { result: await during(), seen: [...seen.values()] };
  } finally {
    done = true;
    await poll;
  }
}

test.serial('a registry dependency is installed in a sandbox, the function uses it, a code-only push reuses the install', async (t) => {
  const started = Date.now();
  const { result: first, seen } = await watchSandboxes(() => lambda.push('deps', fixture('with-dependency')));
  const firstMs = Date.now() - started;
  t.is(first.code, 0, first.stderr);
  t.regex(first.stderr, /Installing dependencies from package\.json \(only registry\.npmjs\.org is reachable\)/);
  t.regex(first.stderr, /remote: {8}added 1 package/);
  t.regex(first.stderr, /\[\d\/\d\] ADD dependencies\.tar \/var\/task\//);
  t.deepEqual(await (await lambda.api('/api/v1/functions/deps/invoke', { method: 'POST', body: '{}' })).json(), { twoDays: 172_800_000, version: 1 });

  // The install ran as uid 10001 with no network, a read-only root, no capabilities and one read-only host folder.
  t.true(seen.length >= 1, 'the install container was seen while it ran');
  for (const sandbox of seen) {
    t.is(sandbox.user, '10001:10001');
    t.is(sandbox.network, 'none');
    t.true(sandbox.readOnly);
    t.deepEqual(sandbox.capDrop, ['ALL']);
    t.deepEqual(sandbox.securityOpt, ['no-new-privileges']);
    t.is(sandbox.binds.length, 1);
    t.regex(sandbox.binds[0], /:\/lambda-install:ro$/);
    t.true(sandbox.pidsLimit > 0 && sandbox.memory > 0);
  }

  const code = "import ms from 'ms';\n\nexport const handler = async () => ({ twoDays: ms('2 days'), version: 2 });\n";
  const again = Date.now();
  const second = await lambda.push('deps', fixture('with-dependency'), { files: { 'index.mjs': code } });
  const secondMs = Date.now() - again;
  t.is(second.code, 0, second.stderr);
  t.regex(second.stderr, /Dependencies unchanged \(package\.json\): reusing the install [0-9a-f]{12}/);
  t.notRegex(second.stderr, /Installing dependencies/);
  // Docker's layer cache keeps the dependencies' layer too, since it comes before the code's.
  t.regex(second.stderr, /\[\d\/\d\] ADD dependencies\.tar \/var\/task\/ \(cached\)/);
  t.notRegex(second.stderr, /COPY code\/ \/var\/task\/ \(cached\)/);
  t.deepEqual(await (await lambda.api('/api/v1/functions/deps/invoke', { method: 'POST', body: '{}' })).json(), { twoDays: 172_800_000, version: 2 });
  t.log(`push to live: first push (install) ${firstMs} ms, second push (install reused) ${secondMs} ms`);
});

const app = test.macro({
  async exec(t, name: string) {
    const started = Date.now();
    const push = await lambda.push(name, example(name));
    t.is(push.code, 0, push.stderr);
    t.regex(push.stderr, /Installing dependencies from package\.json \+ package-lock\.json/);
    t.log(`push to live with a fresh install: ${Date.now() - started} ms`);

    const hello = await lambda.fetch(`/fn/${name}/?name=Ada`);
    t.is(hello.status, 200);
    t.deepEqual(await hello.json(), { message: 'Hello, Ada!', framework: name });

    const user = await lambda.fetch(`/fn/${name}/users/42`);
    t.deepEqual(await user.json(), { id: '42' });

    const echo = await lambda.fetch(`/fn/${name}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: [1, 2] }) });
    t.is(echo.status, 201);
    t.deepEqual(await echo.json(), { received: { a: [1, 2] } });

    const missing = await lambda.fetch(`/fn/${name}/nowhere`);
    t.is(missing.status, 404);
  },
  title: (_label, name: string) => `examples/${name}: its dependencies are installed by the platform and it answers over HTTP`,
});

test.serial(app, 'hono');
test.serial(app, 'express');
