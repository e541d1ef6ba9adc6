// End to end: what bad requests and misbehaving functions get, and that nothing is lost or leaked by them.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { command, example, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
  const push = await lambda.push('misbehave', fixture('misbehave'));
  if (push.code !== 0) throw new Error(`could not deploy misbehave: ${push.stderr}`);
});

test.after.always(async () => {
  await lambda?.destroy();
});

test.serial('a handler that throws: public HTTP gets API Gateway\'s 502 without the error, direct invokes get errorType and errorMessage', async (t) => {
  const response = await lambda.fetch('/fn/misbehave/throw');
  t.is(response.status, 502);
  const publicBody = (await response.json()) as Record<string, unknown>;
  t.deepEqual(Object.keys(publicBody).sort(), ['message', 'requestId']);
  t.is(publicBody.message, 'Internal Server Error');
  t.regex(String(publicBody.requestId), /^[0-9a-f-]{36}$/);
  const invoked = await lambda.api('/api/v1/functions/misbehave/invoke', { method: 'POST', body: '{"action":"throw"}' });
  t.is(invoked.status, 502);
  const body = (await invoked.json()) as { error: { code: string; details: { errorType: string; errorMessage: string } } };
  t.is(body.error.code, 'LAMBDA_ERR_FUNCTION_ERROR');
  t.deepEqual(body.error.details, { errorType: 'TypeError', errorMessage: 'boom' });
  t.is((await lambda.fetch('/fn/misbehave/ok')).status, 200, 'the same instance keeps serving');
});

test.serial('a handler that never returns gets 504 at its timeout; the instance is replaced and the next request succeeds', async (t) => {
  const [before] = await lambda.containers('misbehave');
  const response = await lambda.fetch('/fn/misbehave/hang');
  t.is(response.status, 504);
  t.is(((await response.json()) as { error: { code: string } }).error.code, 'LAMBDA_ERR_FUNCTION_TIMEOUT');
  const next = await lambda.fetch('/fn/misbehave/ok');
  t.is(next.status, 200);
  // It takes no new request at once, and is removed once the requests in flight on it have ended.
  let after = await lambda.containers('misbehave');
  for (let i = 0; i < 50 && after.includes(before); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = await lambda.containers('misbehave');
  }
  t.false(after.includes(before), 'the hung instance was removed');
});

test.serial('a handler that kills its process gets 502 and a fresh instance serves the next request', async (t) => {
  const response = await lambda.fetch('/fn/misbehave/exit');
  t.is(response.status, 502);
  const body = (await response.json()) as { error: { code: string; details?: unknown } };
  t.is(body.error.code, 'LAMBDA_ERR_FUNCTION_CRASHED');
  t.is(body.error.details, undefined, 'anonymous callers get no internal error text');
  t.is((await lambda.fetch('/fn/misbehave/ok')).status, 200);
});

test.serial('a handler that eats its memory limit gets a 5xx and a fresh instance', async (t) => {
  const response = await lambda.fetch('/fn/misbehave/eat-memory');
  t.true(response.status === 502 || response.status === 504, `status ${response.status}`);
  t.is((await lambda.fetch('/fn/misbehave/ok')).status, 200);
});

test('an unknown function answers 404 JSON', async (t) => {
  for (const response of [await lambda.fetch('/fn/nobody/'), await lambda.fetch('/', { host: `nobody.localhost:${lambda.port}` })]) {
    t.is(response.status, 404);
    t.is(((await response.json()) as { error: { code: string } }).error.code, 'LAMBDA_ERR_FUNCTION_NOT_FOUND');
  }
  const invoked = await lambda.api('/api/v1/functions/nobody/invoke', { method: 'POST', body: '{}' });
  t.is(invoked.status, 404);
});

test('a body over 6 MB answers 413', async (t) => {
  const response = await lambda.fetch('/fn/misbehave/ok', { method: 'POST', body: new Uint8Array(6 * 1024 * 1024 + 1) });
  t.is(response.status, 413);
  t.is(((await response.json()) as { error: { code: string } }).error.code, 'LAMBDA_ERR_BODY_TOO_LARGE');
});

test('invoke with a payload that is not JSON answers 400', async (t) => {
  const response = await lambda.api('/api/v1/functions/misbehave/invoke', { method: 'POST', body: '{nope' });
  t.is(response.status, 400);
  t.is(((await response.json()) as { error: { code: string } }).error.code, 'LAMBDA_ERR_BAD_PAYLOAD');
});

test('push and fetch without a valid key get 401 and create no repository', async (t) => {
  const push = await lambda.push('sneaky', example('greet'), { key: 'wrong-key' });
  t.not(push.code, 0);
  t.regex(push.stderr, /401|Authentication failed|could not read Username/i);
  t.false(fs.existsSync(path.join(lambda.dataDir, 'data', 'repos', 'sneaky.git')));

  const infoRefs = await fetch(`${lambda.base}/git/sneaky.git/info/refs?service=git-receive-pack`);
  t.is(infoRefs.status, 401);
  const rawPack = await fetch(`${lambda.base}/git/sneaky.git/git-receive-pack`, { method: 'POST', body: '0000' });
  t.is(rawPack.status, 401, 'the pack POST is authenticated too, not only info/refs');
  t.false(fs.existsSync(path.join(lambda.dataDir, 'data', 'repos', 'sneaky.git')));

  const clone = await command('git', ['clone', `http://lambda:wrong@127.0.0.1:${lambda.port}/git/misbehave.git`, path.join(lambda.dataDir, 'clone')]);
  t.not(clone.code, 0);
  t.is((await fetch(`${lambda.base}/api/v1/functions`)).status, 401);
  t.is((await fetch(`${lambda.base}/api/v1/functions`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
});

const hostileName = test.macro({
  async exec(t, name: string) {
    const before = fs.readdirSync(path.join(lambda.dataDir, 'data', 'repos')).sort();
    const gitUrl = `${lambda.base}/git/${name}.git/info/refs?service=git-receive-pack`;
    const auth = `Basic ${Buffer.from(`lambda:${lambda.key}`).toString('base64')}`;
    const gitResponse = await fetch(gitUrl, { headers: { authorization: auth } });
    t.true([400, 404].includes(gitResponse.status), `git status ${gitResponse.status}`);
    const invoked = await lambda.api(`/api/v1/functions/${name}/invoke`, { method: 'POST', body: '{}' });
    t.true([400, 404].includes(invoked.status), `invoke status ${invoked.status}`);
    const traffic = await lambda.fetch(`/fn/${name}/`);
    t.true([400, 404].includes(traffic.status), `traffic status ${traffic.status}`);
    t.deepEqual(fs.readdirSync(path.join(lambda.dataDir, 'data', 'repos')).sort(), before, 'no repository was created');
  },
  title: (_label, name: string) => `the function name ${JSON.stringify(name)} is refused before any file or Docker call`,
});

for (const name of ['..', '%2e%2e', '%2E', 'Greet', 'UPPER', 'a%2fb', '-dash', '9lives', 'a'.repeat(64), 'semi%3Bcolon', '%2Fetc']) {
  test(hostileName, name);
}

test('the git path cannot climb out of the repositories directory', async (t) => {
  const auth = `Basic ${Buffer.from(`lambda:${lambda.key}`).toString('base64')}`;
  const response = await fetch(`${lambda.base}/git/../../etc/passwd`, { headers: { authorization: auth } });
  t.true([400, 404].includes(response.status));
  const encoded = await fetch(`${lambda.base}/git/%2e%2e%2f%2e%2e%2fetc.git/info/refs?service=git-upload-pack`, { headers: { authorization: auth } });
  t.is(encoded.status, 400);
});

test.serial('an instance killed while idle is replaced and the next request still succeeds', async (t) => {
  const [before] = await lambda.containers('misbehave');
  const killed = await command('docker', ['kill', before]);
  t.is(killed.code, 0, killed.stderr);
  const response = await lambda.fetch('/fn/misbehave/ok');
  t.is(response.status, 200);
  const after = await lambda.containers('misbehave');
  t.false(after.includes(before), 'the dead container was removed');
  t.is(after.length, 1);
});
