// End to end: git push → image per commit → live instance → HTTP and API invoke, with the real engine and git.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
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

test('git push deploys examples/greet, shows progress and answers over HTTP and invoke', async (t) => {
  const push = await lambda.push('greet', example('greet'));
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, /remote: -----> Reading lambda\.yaml \(runtime node20, handler index\.handler\)/);
  t.regex(push.stderr, new RegExp(`remote: -----> Building image lambda-fn/greet:${push.sha.slice(0, 12)}`));
  t.regex(push.stderr, /remote: -----> Starting greet v1/);
  t.regex(push.stderr, new RegExp(`remote: -----> Live at http://greet\\.localhost:${lambda.port}`));

  const byHost = await lambda.fetch('/?name=World', { host: `greet.localhost:${lambda.port}` });
  t.is(byHost.status, 200);
  t.deepEqual(await byHost.json(), { message: 'Hello, World!' });

  const byPath = await lambda.fetch('/fn/greet/?name=World');
  t.deepEqual(await byPath.json(), { message: 'Hello, World!' });

  const invoked = await lambda.api('/api/v1/functions/greet/invoke', { method: 'POST', body: '{"name":"World"}' });
  t.is(invoked.status, 200);
  t.deepEqual(await invoked.json(), { message: 'Hello, World!' });

  const listed = (await (await lambda.api('/api/v1/functions')).json()) as { functions: { name: string; live: { version: number; sha: string; image: string } }[] };
  const greet = listed.functions.find((fn) => fn.name === 'greet');
  t.is(greet?.live.version, 1);
  t.is(greet?.live.sha, push.sha);
  t.is(greet?.live.image, `lambda-fn/greet:${push.sha.slice(0, 12)}`);

  // The operator's terminal got one timestamped line for it.
  t.regex(lambda.output(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z -----> Deployed greet v1 \([0-9a-f]{12}\): live at http:\/\/greet\.localhost:\d+$/m);
});

test('a second push becomes v2 and replaces the old instance', async (t) => {
  const first = await lambda.push('twice', example('greet'));
  t.is(first.code, 0, first.stderr);
  const second = await lambda.push('twice', example('greet'), { files: { 'lambda.yaml': 'runtime: node20\nhandler: index.handler\nenv:\n  GREETING: Howdy\n' } });
  t.is(second.code, 0, second.stderr);
  t.regex(second.stderr, /Starting twice v2/);
  t.deepEqual(await (await lambda.fetch('/fn/twice/?name=Ann')).json(), { message: 'Howdy, Ann!' });
  // The old instance is retired once in-flight requests finish: poll a bounded number of times.
  let containers: string[] = [];
  for (let i = 0; i < 50; i++) {
    containers = await lambda.containers('twice');
    if (containers.length === 1) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.is(containers.length, 1);
});

test('the handler gets the API Gateway v2 event and its result becomes the response', async (t) => {
  const push = await lambda.push('echo', fixture('echo'));
  t.is(push.code, 0, push.stderr);

  const response = await lambda.fetch('/fn/echo/some/path?a=1&b=two&a=3', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-thing': 'hello', cookie: 'c1=v1; c2=v2' },
    body: '{"hello":"world"}',
  });
  t.is(response.status, 200);
  const { event, context } = (await response.json()) as { event: Record<string, any>; context: Record<string, any> };
  t.is(event.version, '2.0');
  t.is(event.rawPath, '/some/path');
  t.is(event.rawQueryString, 'a=1&b=two&a=3');
  t.deepEqual(event.queryStringParameters, { a: '1,3', b: 'two' });
  t.is(event.headers['x-thing'], 'hello');
  t.deepEqual(event.cookies, ['c1=v1', 'c2=v2']);
  t.is(event.requestContext.http.method, 'POST');
  t.is(event.requestContext.http.path, '/some/path');
  t.is(event.body, '{"hello":"world"}');
  t.false(event.isBase64Encoded);
  t.is(context.functionName, 'echo');
  t.is(context.functionVersion, '1');
  t.true(context.remaining > 0);
  t.truthy(context.awsRequestId);

  const binary = await lambda.fetch('/fn/echo/upload', { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array([0, 159, 255]) });
  const binaryEvent = ((await binary.json()) as { event: Record<string, any> }).event;
  t.true(binaryEvent.isBase64Encoded);
  t.deepEqual([...Buffer.from(binaryEvent.body, 'base64')], [0, 159, 255]);

  const shaped = await lambda.fetch('/fn/echo/status');
  t.is(shaped.status, 201);
  t.is(shaped.headers.get('x-custom'), 'yes');
  t.deepEqual(shaped.headers.getSetCookie(), ['a=1', 'b=2']);
  t.is(await shaped.text(), 'created');

  const bytes = await lambda.fetch('/fn/echo/binary');
  t.deepEqual([...new Uint8Array(await bytes.arrayBuffer())], [0, 1, 2, 255]);

  const plain = await lambda.fetch('/fn/echo/string');
  t.is(plain.headers.get('content-type'), 'application/json');
  t.is(await plain.text(), '"just a string"');

  const direct = await lambda.api('/api/v1/functions/echo/invoke', { method: 'POST', body: '{"direct":true}' });
  t.deepEqual(((await direct.json()) as { event: unknown }).event, { direct: true });
});

test('functions see the environment variables AWS Lambda sets', async (t) => {
  const push = await lambda.push('lambda-env', fixture('echo'));
  t.is(push.code, 0, push.stderr);
  const response = await lambda.fetch('/fn/lambda-env/env');
  t.deepEqual(await response.json(), {
    AWS_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: 'lambda-env',
    AWS_LAMBDA_FUNCTION_VERSION: '1',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
    LAMBDA_TASK_ROOT: '/var/task',
    _HANDLER: 'index.handler',
  });
});

test('CommonJS callback-style handlers in subfolders run unchanged', async (t) => {
  const push = await lambda.push('legacy', fixture('commonjs'));
  t.is(push.code, 0, push.stderr);
  const invoked = await lambda.api('/api/v1/functions/legacy/invoke', { method: 'POST', body: '[1,2]' });
  t.deepEqual(await invoked.json(), { style: 'callback', got: [1, 2] });
});

test('containers are hardened', async (t) => {
  const push = await lambda.push('hardened', example('greet'));
  t.is(push.code, 0, push.stderr);
  const [id] = await lambda.containers('hardened');
  const { command } = await import('../helpers/lambda.js');
  const inspect = await command('docker', ['inspect', id, '--format', '{{json .HostConfig}}|{{.Config.User}}']);
  const [hostJson, user] = inspect.stdout.trim().split('|');
  const host = JSON.parse(hostJson) as Record<string, any>;
  t.is(host.NetworkMode, 'none');
  t.true(host.ReadonlyRootfs);
  t.deepEqual(host.CapDrop, ['ALL']);
  t.deepEqual(host.SecurityOpt, ['no-new-privileges']);
  t.true(host.PidsLimit > 0);
  t.is(host.Memory, 256 * 1024 * 1024);
  t.true(host.NanoCpus > 0);
  t.truthy(host.Tmpfs['/tmp']);
  t.is(user, '10001:10001');
});

test('the function repository can be cloned back with the key, at the deployed commit', async (t) => {
  const push = await lambda.push('cloned', example('greet'));
  t.is(push.code, 0, push.stderr);
  const { command } = await import('../helpers/lambda.js');
  const target = `${lambda.dataDir}/clone-of-cloned`;
  const clone = await command('git', ['clone', '-q', `http://lambda:${lambda.key}@127.0.0.1:${lambda.port}/git/cloned.git`, target]);
  t.is(clone.code, 0, clone.stderr);
  const head = await command('git', ['-C', target, 'rev-parse', 'HEAD']);
  t.is(head.stdout.trim(), push.sha);
});

test('a push to another branch is accepted without deploying', async (t) => {
  const main = await lambda.push('branchy', example('greet'));
  t.is(main.code, 0, main.stderr);
  const { command } = await import('../helpers/lambda.js');
  const work = `${lambda.dataDir}/branchy-work`;
  t.is((await command('git', ['clone', '-q', `http://lambda:${lambda.key}@127.0.0.1:${lambda.port}/git/branchy.git`, work])).code, 0);
  await command('git', ['-C', work, 'checkout', '-q', '-b', 'feature']);
  await command('git', ['-C', work, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'wip']);
  const push = await command('git', ['-C', work, 'push', 'origin', 'feature']);
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, /Accepted refs\/heads\/feature without deploying/);
  const listed = (await (await lambda.api('/api/v1/functions/branchy')).json()) as { live: { version: number; sha: string } };
  t.deepEqual(listed.live, { ...listed.live, version: 1, sha: main.sha });
});

test("a new function's first push over git's 1 MiB post buffer (sent after a probe request) deploys, and the server lives on", async (t) => {
  // Git sends a pack over http.postBuffer in two requests: an empty probe, then the pack. The probe's end must not
  // remove the repository the pack is then written to, and a git process ending early must not take the server down.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-big-first-'));
  try {
    fs.cpSync(example('greet'), dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'noise.bin'), randomBytes(3 * 1024 * 1024));
    const push = await lambda.push('big-first', dir);
    t.is(push.code, 0, push.stderr);
    t.regex(push.stderr, /Live at http:\/\/big-first\.localhost/);
    t.is((await lambda.fetch('/fn/big-first/?name=Big')).status, 200);
    // The server is still the one serving (the other tests of this file run beside this one: no function of theirs is assumed).
    t.is((await lambda.fetch('/healthz')).status, 200);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
