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
  ['a typo in a key', { runtime: 'node20', handlr: 'index.handler', files: { 'index.mjs': b64('x') } }, 'LAMBDA_ERR_BAD_REQUEST', /^"handlr": unknown key \(did you mean "handler"\?\)/],
  ['"file" for "files"', { runtime: 'node20', handler: 'index.handler', file: { 'index.mjs': b64('x') } }, 'LAMBDA_ERR_BAD_REQUEST', /^"file": unknown key \(did you mean "files"\?\)$/],
  ['an unknown runtime', { runtime: 'cobol', handler: 'index.handler', files: { 'index.mjs': b64('x') } }, 'LAMBDA_ERR_BAD_REQUEST', /^"runtime": expected one of/],
  ['a lambda.yaml sent with a typo', { files: { 'index.mjs': b64('x'), 'lambda.yaml': b64('runtime: node20\nhandlr: index.handler\n') } }, 'LAMBDA_ERR_MANIFEST_INVALID', /^lambda\.yaml: line 2: unknown key "handlr"/],
  ['base64 broken into lines (no -w0)', `{"runtime": "node20", "handler": "index.handler", "files": {"index.mjs": "${'QUJD'.repeat(19)}\n${'QUJD'.repeat(2)}"}}`, 'LAMBDA_ERR_BAD_REQUEST', /^the body is not JSON: Bad control character.*`base64 -w0 FILE`/],
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

const SLOW = { runtime: 'node20', handler: 'index.handler', files: filesOf(fixture('register-slow')) };
const gitEnv = (name: string) => ({ ...process.env, GIT_DIR: path.join(lambda.dataDir, 'data', 'repos', `${name}.git`) });

/** The live version's commit is in the function's repository, on main, and a clone over git gets it. */
async function sourceKept(t: import('ava').ExecutionContext, name: string, sha: string): Promise<void> {
  t.is(await mainOf(name), sha, 'main is the live commit');
  await t.notThrowsAsync(run('git', ['cat-file', '-e', `${sha}^{commit}`], { env: gitEnv(name) }), 'the live commit is kept');
  const clone = fs.mkdtempSync(path.join(lambda.dataDir, 'clone-'));
  try {
    await run('git', ['clone', '-q', `http://lambda:${lambda.key}@127.0.0.1:${lambda.port}/git/${name}.git`, clone], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    t.is((await run('git', ['rev-parse', 'HEAD'], { cwd: clone })).stdout.trim(), sha, 'a clone gets the live commit');
  } finally {
    fs.rmSync(clone, { recursive: true, force: true });
  }
}

test.serial('three registrations of a new name at once: one goes live, the others get 409, and its repository and commit stay', async (t) => {
  const answers = await Promise.all([1, 2, 3].map((n) => register('reg-race', { ...SLOW, env: { TRY: String(n) } })));
  const bodies = await Promise.all(answers.map(async (res) => ({ status: res.status, body: (await res.json()) as Deployment & ErrorBody })));
  t.deepEqual(bodies.map((answer) => answer.status).sort(), [201, 409, 409]);
  for (const loser of bodies.filter((answer) => answer.status === 409)) t.is(loser.body.error.code, 'LAMBDA_ERR_DEPLOY_IN_PROGRESS');
  const winner = bodies.find((answer) => answer.status === 201)?.body as Deployment;
  t.like(winner, { name: 'reg-race', version: 1 });
  t.is(await (await lambda.fetch('/fn/reg-race/')).text(), 'slow and live');
  await sourceKept(t, 'reg-race', winner.sha);
  // The function's files can be changed again (main moves from the live commit).
  const next = await registered('reg-race', { ...SLOW, env: { TRY: 'again' } });
  t.is(next.deployment.version, 2);
  await sourceKept(t, 'reg-race', next.deployment.sha);
});

test.serial('a git push racing a registration of a new name is refused (deploy in progress) and leaves the registration its repository', async (t) => {
  const res = await register('reg-push-race', SLOW, { accept: 'application/x-ndjson' });
  t.is(res.status, 200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  // The push goes once the registration's deploy is under way (its image built, its instance starting).
  while (!text.includes('"phase":"start"')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  const push = await lambda.push('reg-push-race', fixture('register-node'), { files: { 'lambda.yaml': 'runtime: node20\nhandler: index.handler\n' } });
  t.not(push.code, 0, 'the push is rejected');
  t.regex(push.stderr, /LAMBDA_ERR_DEPLOY_IN_PROGRESS|another deploy/);
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true });
  const result = JSON.parse(text.trim().split('\n').at(-1) ?? '{}') as { ok: boolean; deployment: Deployment };
  t.like(result, { ok: true, deployment: { name: 'reg-push-race', version: 1 } });
  // A rejected push lets go of the repository a moment after its last request: let that moment pass.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await sourceKept(t, 'reg-push-race', result.deployment.sha);
  t.is(await (await lambda.fetch('/fn/reg-push-race/')).text(), 'slow and live');
});

/** Bytes a line-ending rule would change: LF, CRLF, a lone CR, no final newline, and a byte that is not UTF-8. */
const MIXED = Buffer.concat([Buffer.from('lf\ncrlf\r\nlone cr\rend'), Buffer.from([0xff, 0x00])]);

async function served(name: string, file: string): Promise<{ status: number; bytes: Buffer }> {
  const res = await lambda.fetch(`/fn/${name}/?file=${encodeURIComponent(file)}`);
  const text = await res.text();
  return { status: res.status, bytes: Buffer.from(res.status === 200 ? text : '', 'base64') };
}

test.serial('a registration commits the bytes sent: no .gitattributes rule changes them and no .gitignore drops a file', async (t) => {
  const files = {
    ...filesOf(fixture('register-bytes')),
    'a.txt': MIXED.toString('base64'),
    'b.dat': MIXED.toString('base64'),
    '.gitattributes': b64('* text eol=crlf\n*.dat ident filter=missing\n'),
    '.gitignore': b64('*.txt\nlambda.yaml\n.gitattributes\n'),
    'lambda.yaml': b64('runtime: node20\nhandler: index.handler\n'),
  };
  const { deployment } = await registered('reg-bytes', { files });
  for (const file of ['a.txt', 'b.dat', '.gitattributes', '.gitignore', 'lambda.yaml']) {
    const answer = await served('reg-bytes', file);
    t.is(answer.status, 200, file);
    t.deepEqual(answer.bytes, Buffer.from(files[file as keyof typeof files], 'base64'), file);
  }
  const listed = (await run('git', ['ls-tree', '-r', '--name-only', deployment.sha], { env: gitEnv('reg-bytes') })).stdout.trim().split('\n').sort();
  t.deepEqual(listed, ['.gitattributes', '.gitignore', 'a.txt', 'b.dat', 'index.mjs', 'lambda.yaml']);
});

test.serial('lambda deploy commits the bytes of its folder too, and leaves out what the folder\'s .gitignore names', async (t) => {
  const dir = fs.mkdtempSync(path.join(lambda.dataDir, 'deploy-bytes-'));
  try {
    fs.cpSync(fixture('register-bytes'), dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'lambda.yaml'), 'runtime: node20\nhandler: index.handler\n');
    fs.writeFileSync(path.join(dir, 'a.txt'), MIXED);
    fs.writeFileSync(path.join(dir, '.gitattributes'), '*.txt text eol=crlf\n');
    fs.writeFileSync(path.join(dir, '.gitignore'), 'secret.txt\n');
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'not for the server\n');
    const deployed = await lambda.cli(['deploy', dir, '--name', 'deploy-bytes', '--json']);
    t.is(deployed.code, 0, deployed.stderr);
    const answer = await served('deploy-bytes', 'a.txt');
    t.is(answer.status, 200);
    t.deepEqual(answer.bytes, MIXED);
    t.is((await served('deploy-bytes', 'secret.txt')).status, 404, 'the ignored file is not deployed');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
