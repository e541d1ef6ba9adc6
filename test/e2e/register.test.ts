// End to end: functions registered from source over REST in one call (PUT /api/v1/functions/:name), as fetch calls
// that curl would make: node20 with lambda.yaml's keys beside its files and a schedule, python3 with its own
// lambda.yaml, the Go hello example, the same files again changing nothing, new files a new version, progress as NDJSON, a failing build
// leaving nothing, every malformed body, missing or invoke-only token and path out of the folder refused, and the
// body's size, its files' decoded size and a stalled body bounded.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';
import { eventually } from '../helpers/load.js';

const run = promisify(execFile);

interface Deployment {
  name: string;
  version: number;
  sha: string;
  image: string;
  url: string;
}

interface ErrorBody {
  error: { code: string; message: string; details?: { field?: string } };
}

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
});

test.after.always(async () => {
  await lambda?.destroy();
});

/** A fixture folder's files as a registration sends them: path → base64 (what `base64 -w0 FILE` prints). */
function filesOf(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files[path.relative(dir, full)] = fs.readFileSync(full).toString('base64');
  }
  return files;
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

function register(name: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return lambda.api(`/api/v1/functions/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

async function registered(name: string, body: unknown): Promise<{ status: number; deployment: Deployment }> {
  const res = await register(name, body);
  const text = await res.text();
  if (res.status >= 300) throw new Error(`registering ${name}: ${res.status} ${text}`);
  return { status: res.status, deployment: JSON.parse(text) as Deployment };
}

async function versions(name: string): Promise<Array<{ version: number; sha: string; message: string; live: boolean }>> {
  const res = await lambda.api(`/api/v1/functions/${name}/versions`);
  return ((await res.json()) as { versions: Array<{ version: number; sha: string; message: string; live: boolean }> }).versions;
}

async function mainOf(name: string): Promise<string> {
  const gitDir = path.join(lambda.dataDir, 'data', 'repos', `${name}.git`);
  return (await run('git', ['rev-parse', 'refs/heads/main'], { env: { ...process.env, GIT_DIR: gitDir } })).stdout.trim();
}

const NODE = { runtime: 'node20', handler: 'index.handler', env: { GREETING: 'Hello' }, files: filesOf(fixture('register-node')) };

test.serial('a node20 function registered with a schedule answers over HTTP, runs on its schedule; the same files again change nothing', async (t) => {
  const body = { ...NODE, schedules: [{ cron: '* * * * * *' }] };
  const first = await registered('reg-node', body);
  t.is(first.status, 201);
  t.like(first.deployment, { name: 'reg-node', version: 1, url: `http://reg-node.localhost:${lambda.port}` });
  t.regex(first.deployment.sha, /^[0-9a-f]{40}$/);
  t.is(first.deployment.image, `lambda-fn/reg-node:${first.deployment.sha.slice(0, 12)}`);

  const answer = await lambda.fetch('/fn/reg-node/?name=REST');
  t.is(answer.status, 200);
  t.is(await answer.text(), 'Hello, REST!');
  const [version] = await versions('reg-node');
  t.like(version, { version: 1, sha: first.deployment.sha, message: 'registered over REST', live: true });
  t.is(await mainOf('reg-node'), first.deployment.sha, 'main moved to the registered commit');

  // The commit holds exactly the files sent, plus the lambda.yaml written from the keys.
  const gitDir = path.join(lambda.dataDir, 'data', 'repos', 'reg-node.git');
  const listed = (await run('git', ['ls-tree', '-r', '--format=%(objectmode) %(path)', first.deployment.sha], { env: { ...process.env, GIT_DIR: gitDir } })).stdout;
  t.deepEqual(listed.trim().split('\n').sort(), ['100644 index.mjs', '100644 lambda.yaml', '100644 lib/shout.mjs']);
  const manifest = (await run('git', ['cat-file', 'blob', `${first.deployment.sha}:lambda.yaml`], { env: { ...process.env, GIT_DIR: gitDir } })).stdout;
  t.regex(manifest, /^runtime: node20\nhandler: index.handler\nenv:\n {2}GREETING: Hello\nschedules:\n {2}- cron: "\* \* \* \* \* \*"\n$/);

  const schedules = (await (await lambda.api('/api/v1/functions/reg-node/schedules')).json()) as { schedules: Array<{ cron: string; source: string }> };
  t.like(schedules.schedules, [{ cron: '* * * * * *', source: 'manifest' }]);
  const ticked = await eventually(async () => (await (await lambda.api('/api/v1/functions/reg-node/logs?tail=0')).text()).includes('tick * * * * * *'));
  t.true(ticked, 'a scheduled tick is in the log');

  const again = await registered('reg-node', body);
  t.is(again.status, 200, 'the same files again: no new version');
  t.deepEqual(again.deployment, first.deployment);
  t.is((await versions('reg-node')).length, 1);
  t.is(await mainOf('reg-node'), first.deployment.sha, 'no new commit');
});

test.serial('new files make a new version, which then serves; the earlier one stays in the history', async (t) => {
  const before = await versions('reg-node');
  const changed = await registered('reg-node', { ...NODE, env: { GREETING: 'Bonjour' } });
  t.is(changed.status, 201);
  t.is(changed.deployment.version, before.length + 1);
  t.is(await (await lambda.fetch('/fn/reg-node/?name=REST')).text(), 'Bonjour, REST!');
  const after = await versions('reg-node');
  t.deepEqual(after.map((version) => version.live), [true, ...before.map(() => false)]);
  t.is(await mainOf('reg-node'), changed.deployment.sha);
  // Its schedule went with the keys that no longer name it.
  const schedules = (await (await lambda.api('/api/v1/functions/reg-node/schedules')).json()) as { schedules: unknown[] };
  t.deepEqual(schedules.schedules, []);
});

test.serial('a python3 function registered with its own lambda.yaml among its files, its progress streamed as NDJSON', async (t) => {
  const res = await register('reg-python', { files: filesOf(fixture('register-python')) }, { accept: 'application/x-ndjson' });
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'application/x-ndjson');
  const lines = (await res.text()).trim().split('\n').map((line) => JSON.parse(line) as { type: string; phase?: string; ok?: boolean; deployment?: Deployment });
  t.deepEqual(lines.filter((line) => line.type === 'step').map((line) => line.phase), ['manifest', 'build', 'start', 'live']);
  const result = lines.at(-1);
  t.like(result, { type: 'result', ok: true, deployment: { name: 'reg-python', version: 1 } });
  const answer = await lambda.fetch('/fn/reg-python/?name=REST');
  t.is(answer.status, 200);
  t.deepEqual(await answer.json(), { hello: 'REST', runtime: 'python3' });
});

test.serial('the Go hello example registered as the README shows (main.go in base64, runtime go) answers over HTTP', async (t) => {
  const code = fs.readFileSync(path.join(fixture('go-hello'), 'hello.go')).toString('base64');
  const { status, deployment } = await registered('reg-go', { runtime: 'go', files: { 'main.go': code } });
  t.is(status, 201);
  t.like(deployment, { name: 'reg-go', version: 1, url: `http://reg-go.localhost:${lambda.port}` });
  const answer = await lambda.fetch('/fn/reg-go/');
  t.is(answer.status, 200);
  t.is(await answer.text(), 'Hello, World!\n');
  // A handler is refused for go as in a pushed lambda.yaml, naming the key.
  const refused = await register('reg-go', { runtime: 'go', handler: 'main.handler', files: { 'main.go': code } });
  t.is(refused.status, 400);
  t.regex(((await refused.json()) as ErrorBody).error.message, /handler/);
});

test.serial('a registration whose version does not become healthy is refused as a push is, and leaves no function', async (t) => {
  const res = await register('reg-broken', { runtime: 'node20', handler: 'index.missing', files: filesOf(fixture('register-node')) });
  t.is(res.status, 400);
  const body = (await res.json()) as ErrorBody;
  t.is(body.error.code, 'LAMBDA_ERR_HEALTHCHECK_FAILED');
  t.is((await lambda.api('/api/v1/functions/reg-broken')).status, 404);
  t.false(fs.existsSync(path.join(lambda.dataDir, 'data', 'repos', 'reg-broken.git')));
});

const malformed: Array<[string, string | Record<string, unknown>, string, RegExp]> = [
  ['a body that is not JSON', '{"runtime": "node20",', 'LAMBDA_ERR_BAD_REQUEST', /the body is not JSON/],
  ['a body that is a list', '[1, 2]', 'LAMBDA_ERR_BAD_REQUEST', /the body must be a JSON object/],
  ['no files', { runtime: 'node20', handler: 'index.handler' }, 'LAMBDA_ERR_BAD_REQUEST', /"files" is required/],
  ['empty files', { runtime: 'node20', handler: 'index.handler', files: {} }, 'LAMBDA_ERR_BAD_REQUEST', /"files" is empty/],
  ['files as a list', { runtime: 'node20', handler: 'index.handler', files: ['aGk='] }, 'LAMBDA_ERR_BAD_REQUEST', /"files" must be an object/],
  ['content that is not base64', { runtime: 'node20', handler: 'index.handler', files: { 'index.mjs': 'export const handler = 1;' } }, 'LAMBDA_ERR_BAD_REQUEST', /^files\["index.mjs"\]: not valid base64/],
  ['a typo in a key', { runtime: 'node20', handlr: 'index.handler', files: { 'index.mjs': b64('x') } }, 'LAMBDA_ERR_MANIFEST_INVALID', /unknown key "handlr" \(did you mean "handler"\?\)/],
  ['an unknown runtime', { runtime: 'cobol', handler: 'index.handler', files: { 'index.mjs': b64('x') } }, 'LAMBDA_ERR_MANIFEST_INVALID', /runtime: expected one of/],
  ['keys and a lambda.yaml', { runtime: 'node20', handler: 'index.handler', files: { 'index.mjs': b64('x'), 'lambda.yaml': b64('runtime: node20\n') } }, 'LAMBDA_ERR_BAD_REQUEST', /^files\["lambda.yaml"\]: /],
  ['an absolute path', { runtime: 'node20', handler: 'index.handler', files: { '/index.mjs': b64('x') } }, 'LAMBDA_ERR_BAD_REQUEST', /^files\["\/index.mjs"\]: the path is absolute/],
  ['a path into .git', { runtime: 'node20', handler: 'index.handler', files: { '.git/hooks/pre-receive': b64('#!/bin/sh\ntouch /tmp/pwned\n') } }, 'LAMBDA_ERR_BAD_REQUEST', /^files\["\.git\/hooks\/pre-receive"\]: the path names "\.git"/],
];

for (const [title, body, code, message] of malformed) {
  test.serial(`refused with 400, naming the field: ${title}`, async (t) => {
    const res = await register('reg-bad', body);
    t.is(res.status, 400);
    const answer = (await res.json()) as ErrorBody;
    t.is(answer.error.code, code);
    t.regex(answer.error.message, message);
    t.is((await lambda.api('/api/v1/functions/reg-bad')).status, 404, 'no function is made');
    t.false(fs.existsSync(path.join(lambda.dataDir, 'data', 'repos', 'reg-bad.git')), 'no repository is made');
  });
}

test.serial('a name that is not a function name is refused before the body is read', async (t) => {
  const res = await register('Not_A_Name', NODE);
  t.is(res.status, 400);
  t.is(((await res.json()) as ErrorBody).error.code, 'LAMBDA_ERR_INVALID_NAME');
});

test.serial('paths out of the folder are refused and nothing is written outside it', async (t) => {
  const builds = path.join(lambda.dataDir, 'data', 'builds');
  const marker = `lambda-register-escape-${process.pid}.mjs`;
  const escapes = [`../../../../../../../../tmp/${marker}`, `lib/../../${marker}`, `..\\..\\${marker}`, `lib/\u0000/${marker}`];
  for (const escape of escapes) {
    const res = await register('reg-node', { ...NODE, files: { ...NODE.files, [escape]: b64('export const pwned = true;\n') } });
    t.is(res.status, 400, escape);
    const answer = (await res.json()) as ErrorBody;
    t.is(answer.error.code, 'LAMBDA_ERR_BAD_REQUEST');
    t.is(answer.error.details?.field, `files[${JSON.stringify(escape)}]`);
  }
  t.false(fs.existsSync(path.join('/tmp', marker)));
  for (const dir of [builds, path.dirname(builds), lambda.dataDir]) t.false(fs.existsSync(path.join(dir, marker)), dir);
  t.deepEqual(fs.existsSync(builds) ? fs.readdirSync(builds).filter((entry) => entry.startsWith('register-')) : [], [], 'no work folder is left behind');
  // The function registered earlier still serves its last version.
  t.is(await (await lambda.fetch('/fn/reg-node/?name=REST')).text(), 'Bonjour, REST!');
});

test.serial('no API token gets 401, an invoke-only token 403, and neither makes a function', async (t) => {
  const anonymous = await fetch(`${lambda.base}/api/v1/functions/reg-anon`, { method: 'PUT', body: JSON.stringify(NODE) });
  t.is(anonymous.status, 401);
  t.is(((await anonymous.json()) as ErrorBody).error.code, 'LAMBDA_ERR_UNAUTHORIZED');

  const created = await lambda.api('/api/v1/tokens', { method: 'POST', body: JSON.stringify({ name: 'callers', scope: 'invoke' }) });
  t.is(created.status, 201);
  const { key } = (await created.json()) as { key: string };
  const invokeOnly = await fetch(`${lambda.base}/api/v1/functions/reg-anon`, { method: 'PUT', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify(NODE) });
  t.is(invokeOnly.status, 403);
  t.is(((await invokeOnly.json()) as ErrorBody).error.code, 'LAMBDA_ERR_FORBIDDEN');
  t.is((await lambda.api('/api/v1/functions/reg-anon')).status, 404);
});

test.serial('the body is bounded as an upload is (LAMBDA_MAX_UPLOAD), the decoded files as unpacked ones (LAMBDA_MAX_CODE_SIZE), a stalled body dropped', async (t) => {
  const small = await startLambda({ LAMBDA_MAX_UPLOAD: '64Ki', LAMBDA_MAX_CODE_SIZE: '16Ki', LAMBDA_BODY_IDLE_TIMEOUT: '500ms' });
  try {
    const put = (body: unknown) => fetch(`${small.base}/api/v1/functions/reg-size`, { method: 'PUT', headers: { authorization: `Bearer ${small.key}` }, body: JSON.stringify(body) });
    const tooMuchCode = await put({ runtime: 'node20', handler: 'index.handler', files: { 'a.js': b64('a'.repeat(10 * 1024)), 'b.js': b64('b'.repeat(10 * 1024)) } });
    t.is(tooMuchCode.status, 413);
    const code = (await tooMuchCode.json()) as ErrorBody;
    t.is(code.error.code, 'LAMBDA_ERR_CODE_TOO_LARGE');
    t.is(code.error.details?.field, 'files');
    const tooLarge = await put({ runtime: 'node20', handler: 'index.handler', files: { 'a.js': b64('a'.repeat(80 * 1024)) } });
    t.is(tooLarge.status, 413);
    t.is(((await tooLarge.json()) as ErrorBody).error.code, 'LAMBDA_ERR_BODY_TOO_LARGE');
    // A body that stops arriving is dropped as any other is.
    const stalled = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${small.base}/api/v1/functions/reg-size`, { method: 'PUT', headers: { authorization: `Bearer ${small.key}`, 'content-length': '1000' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{"runtime": "node20", "files": {');
    });
    t.is(stalled, 408);
    t.is((await fetch(`${small.base}/api/v1/functions/reg-size`, { headers: { authorization: `Bearer ${small.key}` } })).status, 404);
  } finally {
    await small.destroy();
  }
});
