// In-process tests of the CLI against a real HTTP server that speaks the REST contract: output and exit statuses.
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import anyTest, { type TestFn } from 'ava';
import { list as listTar } from 'tar';
import type { Env, Io } from './io.js';
import { run } from './main.js';

const KEY = 'test-key';
const SHA = '3f2c1a9b7e01'.padEnd(40, 'a');

const INVOCATIONS: Record<string, unknown> = {
  ok1: { id: 'ok1', status: 'succeeded', kind: 'event', attempts: 1, payload: { name: 'Ann' }, error: null, result: '{"message":"Hello, Ann!"}', replayOf: null, createdAt: '2026-12-01T10:00:00.000Z', finishedAt: '2026-12-01T10:00:01.000Z' },
  bad1: { id: 'bad1', status: 'failed', kind: 'event', attempts: 3, payload: {}, error: 'TypeError: x is undefined\x1b[2J', result: null, replayOf: null, createdAt: '2026-12-01T10:00:00.000Z', finishedAt: '2026-12-01T10:01:00.000Z' },
};

interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

interface Context {
  dir: string;
  url: string;
  server: Server;
  seen: Seen[];
  /** Resolved by a test when it has seen the build output, so the fake server can finish the deploy. */
  releaseDeploy: () => void;
  deployReleased: Promise<void>;
}

const test = anyTest as TestFn<Context>;

test.beforeEach(async (t) => {
  t.context.dir = await mkdtemp(join(tmpdir(), 'lambda-cli-main-'));
  t.context.seen = [];
  t.context.deployReleased = new Promise((resolve) => {
    t.context.releaseDeploy = resolve;
  });
  t.context.server = createServer((req, res) => {
    void handle(t.context, req, res).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : undefined);
    });
  });
  await new Promise<void>((resolve) => t.context.server.listen(0, '127.0.0.1', resolve));
  t.context.url = `http://127.0.0.1:${(t.context.server.address() as AddressInfo).port}`;
});

test.afterEach.always(async (t) => {
  t.context.releaseDeploy();
  t.context.server.closeAllConnections();
  await new Promise<void>((resolve) => t.context.server.close(() => resolve()));
  await rm(t.context.dir, { recursive: true, force: true });
});

/** The contract, as the server is being written to it. */
async function handle(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const path = req.url ?? '/';
  ctx.seen.push({ method: req.method ?? '', path, headers: req.headers, body: Buffer.concat(chunks) });

  const json = (status: number, body: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };
  const error = (status: number, code: string, message: string, extra: Record<string, unknown> = {}): void =>
    json(status, { error: { code, message }, ...extra });

  if (req.headers.authorization !== `Bearer ${KEY}`) return error(401, 'LAMBDA_ERR_UNAUTHORIZED', 'a valid API token is required: send its key as `Authorization: Bearer <key>`');

  if (req.method === 'GET' && path === '/api/v1/functions') {
    return json(200, {
      functions: [
        { name: 'greet', url: 'http://greet.localhost:8080', live: { version: 3, sha: SHA, image: 'lambda/greet:3f2c1a9b7e01', deployedAt: '2024-05-01T10:00:00.000Z' } },
        { name: 'idle', url: 'http://idle.localhost:8080', live: null },
      ],
    });
  }

  const call = /^\/api\/v1\/functions\/greet\/invocations\/([^/]+)$/.exec(path);
  if (req.method === 'GET' && call) {
    const found = INVOCATIONS[call[1] ?? ''];
    return found ? json(200, found) : error(404, 'LAMBDA_ERR_INVOCATION_NOT_FOUND', `function "greet" has no async invocation "${call[1]}"`);
  }

  const match = /^\/api\/v1\/functions\/([^/]+)\/(invoke|deploy)$/.exec(path);
  if (req.method !== 'POST' || !match) return error(404, 'LAMBDA_ERR_ROUTE_NOT_FOUND', `no route for ${req.method} ${path}`);
  const [, name, verb] = match;

  if (verb === 'invoke') {
    if (name === 'greet' && req.headers['x-lambda-invocation-type'] === 'Event') {
      return json(202, { invocationId: '0b9f6a52-4a8e-4d0c-9a51-1d1b5a0c2f11', status: 'queued' });
    }
    if (name === 'greet') {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { name?: string };
      return json(200, { message: `Hello, ${event.name ?? 'nobody'}!` });
    }
    if (name === 'broken') {
      return error(502, 'LAMBDA_ERR_FUNCTION_ERROR', 'the function failed: TypeError: x is undefined', {
        details: { errorType: 'TypeError', errorMessage: 'x is undefined' },
      });
    }
    if (name === 'huge') return error(413, 'LAMBDA_ERR_BODY_TOO_LARGE', 'the request body is over the 6 MB limit');
    if (name === 'picky') return error(400, 'LAMBDA_ERR_BAD_REQUEST', 'the server refused the request');
    if (name === 'slow') return error(504, 'LAMBDA_ERR_FUNCTION_TIMEOUT', 'function "slow" did not answer within 1s; the instance was recycled');
    if (name === 'down') return error(503, 'LAMBDA_ERR_ENGINE_UNAVAILABLE', 'the container engine failed: gone');
    if (name === 'plain') {
      res.writeHead(500, 'Oops').end('not json');
      return;
    }
    return error(404, 'LAMBDA_ERR_FUNCTION_NOT_FOUND', `function "${name}" does not exist`);
  }

  res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
  const line = (value: unknown): void => void res.write(`${JSON.stringify(value)}\n`);
  const image = `lambda/${name}:3f2c1a9b7e01`;
  line({ type: 'step', phase: 'manifest', text: 'Reading lambda.yaml (runtime node20, handler index.handler)' });
  line({ type: 'step', phase: 'build', text: `Building image ${image}`, image });
  line({ type: 'detail', text: 'Step 1/2 : FROM lambda-base/node20' });
  if (name === 'bad') {
    line({ type: 'result', ok: false, error: { code: 'LAMBDA_ERR_BUILD_FAILED', message: 'the image build failed: npm ci exited 1' } });
    res.end();
    return;
  }
  if (name === 'bad-manifest') {
    line({ type: 'result', ok: false, status: 400, error: { code: 'LAMBDA_ERR_MANIFEST_INVALID', message: 'lambda.yaml: runtime: unknown' } });
    res.end();
    return;
  }
  // Holds the rest of the stream until the test has seen the lines above: proof that output is printed as it arrives.
  await ctx.deployReleased;
  line({ type: 'detail', text: 'Successfully built 0123456789ab' });
  line({ type: 'step', phase: 'start', text: `Starting ${name} v4` });
  // Split mid-line on purpose: the client must reassemble lines across chunks.
  const live = JSON.stringify({ type: 'step', phase: 'live', text: 'Live', url: `http://${name}.localhost:8080` });
  res.write(live.slice(0, 10));
  res.write(`${live.slice(10)}\n`);
  line({ type: 'result', ok: true, deployment: { name, version: 4, sha: SHA, image, url: `http://${name}.localhost:8080` } });
  res.end();
}

interface Captured {
  io: Io;
  stdout: () => string;
  stderr: () => string;
}

function capture(env: Env, options: { stdin?: string; onStdout?: (all: string) => void } = {}): Captured {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: {
      write: (text: string) => {
        stdout += text;
        options.onStdout?.(stdout);
        return true;
      },
    },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
    env,
  };
  return { io, stdout: () => stdout, stderr: () => stderr };
}

function envFor(t: { context: Context }, extra: Env = {}): Env {
  return { LAMBDA_CONFIG: join(t.context.dir, 'config.json'), LAMBDA_URL: t.context.url, LAMBDA_API_KEY: KEY, ...extra };
}

async function functionDir(t: { context: Context }): Promise<string> {
  const dir = join(t.context.dir, 'greet');
  await mkdir(join(dir, '.git'), { recursive: true });
  await mkdir(join(dir, 'node_modules', 'dep'), { recursive: true });
  await writeFile(join(dir, 'lambda.yaml'), 'runtime: node20\nhandler: index.handler\n');
  await writeFile(join(dir, 'index.js'), 'export const handler = async () => ({ ok: true });\n');
  await writeFile(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  await writeFile(join(dir, 'node_modules', 'dep', 'index.js'), 'module.exports = 1;\n');
  return dir;
}

async function tarEntries(body: Buffer): Promise<string[]> {
  const entries: string[] = [];
  const parser = listTar({ onReadEntry: (entry) => void entries.push(entry.path) });
  await new Promise<void>((resolve, reject) => {
    parser.on('end', resolve).on('error', reject);
    parser.end(body);
  });
  return entries.sort();
}

test('deploy streams the build as it happens and prints the three stages', async (t) => {
  const dir = await functionDir(t);
  const out = capture(envFor(t), {
    onStdout: (all) => {
      if (all.includes('FROM lambda-base/node20')) t.context.releaseDeploy();
    },
  });
  const status = await run(['deploy', dir], out.io);
  t.is(out.stderr(), '');
  t.is(status, 0);
  t.is(
    out.stdout(),
    [
      '[1/3] Packaging function code... Done.',
      '[2/3] Building image "lambda/greet:3f2c1a9b7e01"...',
      '       Step 1/2 : FROM lambda-base/node20',
      '       Successfully built 0123456789ab',
      '[3/3] Starting container... Done.',
      'Your function is live at: http://greet.localhost:8080',
      '',
    ].join('\n'),
  );

  const request = t.context.seen.find((seen) => seen.path.endsWith('/deploy'));
  t.is(request?.path, '/api/v1/functions/greet/deploy');
  t.is(request?.headers['content-type'], 'application/gzip');
  t.is(request?.headers.accept, 'application/x-ndjson');
  const entries = await tarEntries(request?.body ?? Buffer.alloc(0));
  t.true(entries.includes('lambda.yaml'));
  t.true(entries.includes('node_modules/dep/index.js'));
  t.false(entries.some((entry) => entry.split('/').includes('.git')));
});

test('deploy --name and --json print only the final deployment', async (t) => {
  const dir = await functionDir(t);
  t.context.releaseDeploy();
  const out = capture(envFor(t));
  t.is(await run(['deploy', dir, '--name', 'hello', '--json'], out.io), 0);
  t.deepEqual(JSON.parse(out.stdout()), { name: 'hello', version: 4, sha: SHA, image: 'lambda/hello:3f2c1a9b7e01', url: 'http://hello.localhost:8080' });
  t.is(t.context.seen.at(-1)?.path, '/api/v1/functions/hello/deploy');
});

test('a deploy rejected in the stream prints the error and exits 1', async (t) => {
  const dir = await functionDir(t);
  const out = capture(envFor(t));
  t.is(await run(['deploy', dir, '--name', 'bad'], out.io), 1);
  t.is(
    out.stdout(),
    '[1/3] Packaging function code... Done.\n[2/3] Building image "lambda/bad:3f2c1a9b7e01"...\n       Step 1/2 : FROM lambda-base/node20\n',
  );
  t.is(out.stderr(), ' !     the image build failed: npm ci exited 1 (LAMBDA_ERR_BUILD_FAILED)\n');
});

test('a rejected deploy whose result line carries the HTTP status exits by the same rule (400 → 2)', async (t) => {
  const dir = await functionDir(t);
  const out = capture(envFor(t));
  t.is(await run(['deploy', dir, '--name', 'bad-manifest'], out.io), 2);
  t.is(out.stderr(), ' !     lambda.yaml: runtime: unknown (LAMBDA_ERR_MANIFEST_INVALID)\n');
});

test('a deploy refused before streaming ends the open line, then prints the error', async (t) => {
  const dir = await functionDir(t);
  const out = capture(envFor(t, { LAMBDA_API_KEY: 'wrong' }));
  t.is(await run(['deploy', dir], out.io), 3);
  t.is(out.stdout(), '[1/3] Packaging function code...\n');
  t.regex(out.stderr(), /^ ! {5}a valid API token is required: the key came from LAMBDA_API_KEY .* \(LAMBDA_ERR_UNAUTHORIZED\)\n$/);
});

test('deploy of a missing directory is a usage error and sends nothing', async (t) => {
  const out = capture(envFor(t));
  t.is(await run(['deploy', join(t.context.dir, 'nope')], out.io), 2);
  t.regex(out.stderr(), /^ ! {5}.*nope is not a directory\n$/);
  t.is(out.stdout(), '');
  t.is(t.context.seen.length, 0);
});

test('invoke sends the payload and prints the result', async (t) => {
  const out = capture(envFor(t));
  t.is(await run(['invoke', 'greet', '--data', '{"name":"World"}'], out.io), 0);
  t.is(out.stdout(), '{"message":"Hello, World!"}\n');
  const request = t.context.seen.at(-1);
  t.is(request?.body.toString(), '{"name":"World"}');
  t.is(request?.headers['content-type'], 'application/json');
  t.is(request?.headers['x-lambda-invocation-type'], undefined);
});

test('invoke without --data sends {}', async (t) => {
  const out = capture(envFor(t));
  t.is(await run(['--json', 'invoke', 'greet'], out.io), 0);
  t.is(t.context.seen.at(-1)?.body.toString(), '{}');
  t.is(out.stdout(), '{"message":"Hello, nobody!"}\n');
});

test('invoke --async sends X-Lambda-Invocation-Type: Event and prints the queued call\'s id', async (t) => {
  const out = capture(envFor(t));
  t.is(await run(['invoke', 'greet', '--async', '--data', '{"name":"later"}'], out.io), 0);
  t.is(out.stdout(), 'Queued greet as invocation 0b9f6a52-4a8e-4d0c-9a51-1d1b5a0c2f11\n');
  t.is(t.context.seen.at(-1)?.headers['x-lambda-invocation-type'], 'Event');
  t.is(t.context.seen.at(-1)?.body.toString(), '{"name":"later"}');
  const json = capture(envFor(t));
  t.is(await run(['--json', 'invoke', 'greet', '--async'], json.io), 0);
  t.deepEqual(JSON.parse(json.stdout()), { invocationId: '0b9f6a52-4a8e-4d0c-9a51-1d1b5a0c2f11', status: 'queued' });
  const bad = capture(envFor(t));
  const before = t.context.seen.length;
  t.is(await run(['invoke', 'greet', '--async', '--data', '{nope'], bad.io), 2);
  t.is(t.context.seen.length, before, 'a bad payload is refused before any request');
});

const failures = test.macro({
  async exec(t, argv: string[], status: number, stderr: string | RegExp, env: Env = {}) {
    const out = capture(envFor(t, env));
    t.is(await run(argv, out.io), status);
    if (typeof stderr === 'string') t.is(out.stderr(), stderr);
    else t.regex(out.stderr(), stderr);
    t.is(out.stdout(), '');
  },
  title: (given = '') => `fails: ${given}`,
});

test('bad --data JSON, before any request', failures, ['invoke', 'greet', '--data', '{nope'], 2, /^ ! {5}the payload is not valid JSON: .* \(LAMBDA_ERR_BAD_PAYLOAD\)\n$/);
test('unknown function → 4', failures, ['invoke', 'ghost'], 4, ' !     function "ghost" does not exist (LAMBDA_ERR_FUNCTION_NOT_FOUND)\n');
test('function error → 5', failures, ['invoke', 'broken'], 5, ' !     the function failed: TypeError: x is undefined (LAMBDA_ERR_FUNCTION_ERROR)\n');
test('wrong key → 3', failures, ['list'], 3, /^ ! {5}a valid API token is required: the key came from LAMBDA_API_KEY .* \(LAMBDA_ERR_UNAUTHORIZED\)\n$/, { LAMBDA_API_KEY: 'wrong' });
test('no key at all → 3', failures, ['list'], 3, /^ ! {5}no API token for http:\/\/127\.0\.0\.1:\d+: run `lambda login .*` or set LAMBDA_API_KEY \(LAMBDA_ERR_UNAUTHORIZED\)\n$/, { LAMBDA_API_KEY: undefined });
test('unknown verb → 2', failures, ['frobnicate'], 2, " !     unknown command 'frobnicate' (see lambda --help)\n");
test('unknown verb near a known one → 2, with the near one', failures, ['deplyo'], 2, " !     unknown command 'deplyo'; did you mean 'deploy'?\n");
test('unknown option near a known one → 2, with the near one', failures, ['list', '--jsn'], 2, " !     unknown option '--jsn'; did you mean '--json'?\n");
test('unknown option → 2', failures, ['list', '--frob'], 2, " !     unknown option '--frob'\n");
test('missing argument → 2', failures, ['invoke'], 2, " !     missing required argument 'name'\n");
// Commander alone lets extra words through unread: `lambda rollback greet v1 typo` would quietly ignore `typo`.
test('an extra argument → 2, named', failures, ['list', 'extra'], 2, ' !     too many arguments: "extra" (usage: lambda list [options])\n');
test('extra arguments after the last one a verb takes → 2, named', failures, ['rollback', 'greet', 'v1', 'oops', 'more'], 2, ' !     too many arguments: "oops" "more" (usage: lambda rollback [options] <name> [version])\n');
test('an extra argument of a sub-verb → 2, named', failures, ['tokens', 'revoke', 'abc', 'def'], 2, ' !     too many arguments: "def" (usage: lambda tokens revoke [options] <id>)\n');
test('unknown tokens verb → 2', failures, ['tokens', 'nope'], 2, " !     unknown command 'nope'\n");
// Usage errors echo what was typed; over SSH and at a terminal a control character in it must not reach the screen raw.
test('unknown option with control characters → 2, shown escaped', failures, ['list', '--jsn\x1b[2J\r\x9b'], 2, " !     unknown option '--jsn\\x1b[2J\\x0d\\x9b'\n");
// An unknown word is shown cut and with every character outside printable ASCII as `?` (SSH shows the same text).
test('unknown verb with control characters → 2, shown escaped', failures, ['\x1b]0;owned\x07'], 2, " !     unknown command '?]0;owned?' (see lambda --help)\n");
test('a bad --status with control characters → 2, shown escaped', failures, ['invocations', 'greet', '--status', 'x\x1b[2J'], 2, ' !     --status: expected one of queued, running, succeeded, failed, replayed, got "x\\x1b[2J"\n');
test('--json error: a usage error with control characters is escaped in the message too', async (t) => {
  const out = capture(envFor(t));
  t.is(await run(['--json', 'list', '--x\x9b1m'], out.io), 2);
  t.is((JSON.parse(out.stderr()) as { error: { message: string } }).error.message, "unknown option '--x\\x9b1m'");
});
test('HTTP 400 → 2', failures, ['invoke', 'picky'], 2, ' !     the server refused the request (LAMBDA_ERR_BAD_REQUEST)\n');
test('HTTP 413 → 2', failures, ['invoke', 'huge'], 2, ' !     the request body is over the 6 MB limit (LAMBDA_ERR_BODY_TOO_LARGE)\n');
test('function timeout (504) → 5', failures, ['invoke', 'slow'], 5, / \(LAMBDA_ERR_FUNCTION_TIMEOUT\)\n$/);
test('other server errors (503) → 1', failures, ['invoke', 'down'], 1, ' !     the container engine failed: gone (LAMBDA_ERR_ENGINE_UNAVAILABLE)\n');
test('a non-JSON error answer → 1, with its status', failures, ['invoke', 'plain'], 1, ' !     the server answered HTTP 500 Oops\n');

const invalidNames = test.macro({
  async exec(t, argv: string[], shown: string) {
    const out = capture(envFor(t));
    t.is(await run(argv, out.io), 2);
    t.true(
      out.stderr().startsWith(` !     invalid function name "${shown}": use 1-63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash`),
      out.stderr(),
    );
    t.true(out.stderr().endsWith(' (LAMBDA_ERR_INVALID_NAME)\n'), out.stderr());
    t.is(out.stdout(), '');
    t.is(t.context.seen.length, 0, 'no request was sent');
  },
  title: (given = '') => `an invalid function name is refused before any request: ${given}`,
});

test('invoke, upper case', invalidNames, ['invoke', 'Greet'], 'Greet');
test('invoke, underscore', invalidNames, ['invoke', 'my_fn'], 'my_fn');
test('invoke, trailing dash', invalidNames, ['invoke', 'greet-'], 'greet-');
test('invoke, leading digit', invalidNames, ['invoke', '1greet'], '1greet');
test('invoke, dot dot', invalidNames, ['invoke', '..'], '..');
test('invoke, encoded dots', invalidNames, ['invoke', '%2e%2e'], '%2e%2e');
test('invoke, a path', invalidNames, ['invoke', '/etc'], '/etc');
test('invoke, 64 characters', invalidNames, ['invoke', `a${'b'.repeat(63)}`], `a${'b'.repeat(63)}`);
test('deploy --name', invalidNames, ['deploy', '.', '--name', 'Bad'], 'Bad');
test('deploy --name empty', invalidNames, ['deploy', '.', '--name', ''], '');

test('deploy of a directory whose name is not a function name says to give --name', async (t) => {
  const dir = join(t.context.dir, 'My_Function');
  await mkdir(dir);
  const out = capture(envFor(t));
  t.is(await run(['deploy', dir], out.io), 2);
  t.is(
    out.stderr(),
    ` !     invalid function name "My_Function": use 1-63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash; the name was taken from the directory ${dir}: give one with --name NAME (LAMBDA_ERR_INVALID_NAME)\n`,
  );
  t.is(t.context.seen.length, 0);
});

const jsonErrors = test.macro({
  async exec(t, argv: string[], status: number, error: { code: string | null; message: string | RegExp }, env: Env = {}) {
    const out = capture(envFor(t, env));
    t.is(await run(argv, out.io), status);
    t.is(out.stdout(), '');
    t.true(out.stderr().endsWith('\n'));
    t.is(out.stderr().trimEnd().split('\n').length, 1, 'one line');
    const parsed = JSON.parse(out.stderr()) as { error: { code: string | null; message: string } };
    t.deepEqual(Object.keys(parsed), ['error']);
    t.deepEqual(Object.keys(parsed.error), ['code', 'message']);
    t.is(parsed.error.code, error.code);
    if (typeof error.message === 'string') t.is(parsed.error.message, error.message);
    else t.regex(parsed.error.message, error.message);
  },
  title: (given = '') => `--json error: ${given}`,
});

test('from the server, with its code', jsonErrors, ['invoke', 'ghost', '--json'], 4, { code: 'LAMBDA_ERR_FUNCTION_NOT_FOUND', message: 'function "ghost" does not exist' });
test('--json before the verb', jsonErrors, ['--json', 'invoke', 'broken'], 5, { code: 'LAMBDA_ERR_FUNCTION_ERROR', message: 'the function failed: TypeError: x is undefined' });
test('wrong key', jsonErrors, ['list', '--json'], 3, { code: 'LAMBDA_ERR_UNAUTHORIZED', message: /^a valid API token is required: the key came from LAMBDA_API_KEY / }, { LAMBDA_API_KEY: 'wrong' });
test('client-side check with a catalogue code', jsonErrors, ['invoke', 'Bad', '--json'], 2, { code: 'LAMBDA_ERR_INVALID_NAME', message: /^invalid function name "Bad"/ });
test('client-only failure: code null', jsonErrors, ['dlq', 'replay', 'greet', '--json'], 2, { code: null, message: 'usage: lambda dlq replay NAME ID' });
test('usage error from argument parsing', jsonErrors, ['--json', 'frobnicate'], 2, { code: null, message: "unknown command 'frobnicate' (see lambda --help)" });
test('missing argument', jsonErrors, ['invoke', '--json'], 2, { code: null, message: "missing required argument 'name'" });
test('unreachable server', jsonErrors, ['list', '--json'], 1, { code: null, message: /^cannot reach the Lambda server at http:\/\/127\.0\.0\.1:9 / }, { LAMBDA_URL: 'http://127.0.0.1:9' });

test('--version and -V print the version in package.json', async (t) => {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const out = capture({});
    t.is(await run([flag], out.io), 0);
    t.is(out.stdout(), `${pkg.version}\n`);
    t.is(out.stderr(), '');
  }
});

test('list prints a table, and the array with --json', async (t) => {
  const out = capture(envFor(t));
  t.is(await run(['list'], out.io), 0);
  t.is(
    out.stdout(),
    [
      'NAME   VERSION  SHA           URL',
      'greet  v3       3f2c1a9b7e01  http://greet.localhost:8080',
      'idle   -        -             http://idle.localhost:8080',
      '',
    ].join('\n'),
  );
  t.is(t.context.seen.at(-1)?.headers.authorization, `Bearer ${KEY}`);

  const json = capture(envFor(t));
  t.is(await run(['list', '--json'], json.io), 0);
  const functions = JSON.parse(json.stdout()) as { name: string }[];
  t.deepEqual(functions.map((fn) => fn.name), ['greet', 'idle']);
});

test('login reads the key from stdin, checks it and saves it privately', async (t) => {
  const path = join(t.context.dir, 'cfg', 'config.json');
  const out = capture({ LAMBDA_CONFIG: path }, { stdin: `${KEY}\n` });
  t.is(await run(['login', `${t.context.url}/`], out.io), 0);
  t.is(out.stdout(), `Logged in to ${t.context.url}\n`);
  t.deepEqual(JSON.parse(await readFile(path, 'utf8')), { url: t.context.url, apiKey: KEY });
  t.is((await stat(path)).mode & 0o777, 0o600);

  // Later commands use the saved login with no environment at all.
  const list = capture({ LAMBDA_CONFIG: path });
  t.is(await run(['list'], list.io), 0);
  t.true(list.stdout().startsWith('NAME'));
});

test('login takes the key from LAMBDA_API_KEY before asking, so it is in neither argv nor a prompt', async (t) => {
  const path = join(t.context.dir, 'config.json');
  const out = capture({ LAMBDA_CONFIG: path, LAMBDA_API_KEY: KEY }, { stdin: 'not-read\n' });
  t.is(await run(['login', t.context.url], out.io), 0);
  t.is(out.stderr(), '');
  t.deepEqual(JSON.parse(await readFile(path, 'utf8')), { url: t.context.url, apiKey: KEY });
});

test('git-credential get answers the configured server only; store and erase print nothing', async (t) => {
  const host = new URL(t.context.url).host;
  const ask = async (operation: string, request: string, env: Env = envFor(t)) => {
    const out = capture(env, { stdin: request });
    const status = await run(['git-credential', operation], out.io);
    return { status, stdout: out.stdout(), stderr: out.stderr() };
  };
  t.deepEqual(await ask('get', `protocol=http\nhost=${host}\n\n`), { status: 0, stdout: `username=lambda\npassword=${KEY}\n`, stderr: '' });
  t.deepEqual(await ask('get', 'protocol=http\nhost=127.0.0.1:1\n\n'), { status: 0, stdout: '', stderr: '' });
  t.deepEqual(await ask('store', `protocol=http\nhost=${host}\nusername=lambda\npassword=x\n\n`), { status: 0, stdout: '', stderr: '' });
  t.deepEqual(await ask('erase', `protocol=http\nhost=${host}\n\n`), { status: 0, stdout: '', stderr: '' });
  // The configured server but no key: nothing for git, and a line saying how to give one.
  const none = await ask('get', `protocol=http\nhost=${host}\n\n`, { LAMBDA_URL: t.context.url, LAMBDA_CONFIG: join(t.context.dir, 'none.json') });
  t.is(none.status, 3);
  t.is(none.stdout, '');
  t.regex(none.stderr, /no API token for http:\/\/127\.0\.0\.1:\d+: run `lambda login/);
});

test('login at a terminal turns echo off while the key is typed, and shows none of it', async (t) => {
  const path = join(t.context.dir, 'config.json');
  const out = capture({ LAMBDA_CONFIG: path });
  const raw: boolean[] = [];
  const stdin = Object.assign(Readable.from([`${KEY.slice(0, 4)}`, `${KEY.slice(4)}\r`]), {
    isTTY: true,
    setRawMode: (mode: boolean) => raw.push(mode),
  });
  t.is(await run(['login', t.context.url], { ...out.io, stdin }), 0);
  t.deepEqual(raw, [true, false]);
  t.is(out.stderr(), 'API key: \n');
  t.is(out.stdout(), `Logged in to ${t.context.url}\n`);
  t.deepEqual(JSON.parse(await readFile(path, 'utf8')), { url: t.context.url, apiKey: KEY });
});

test('login with a wrong --key exits 3 and saves nothing', async (t) => {
  const path = join(t.context.dir, 'config.json');
  const out = capture({ LAMBDA_CONFIG: path });
  t.is(await run(['login', t.context.url, '--key', 'wrong'], out.io), 3);
  t.regex(out.stderr(), /^ ! {5}a valid API token is required: the admin key is printed once .* \(LAMBDA_ERR_UNAUTHORIZED\)\n$/);
  await t.throwsAsync(stat(path));
});

test('a server that is not there is named in the error', async (t) => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const out = capture(envFor(t, { LAMBDA_URL: url }));
  t.is(await run(['list'], out.io), 1);
  t.is(
    out.stderr(),
    ` !     cannot reach the Lambda server at ${url} (connect ECONNREFUSED 127.0.0.1:${url.split(':').at(-1)}): ` +
      'start it with `npm start`, or point the CLI at it with LAMBDA_URL or `lambda login URL`\n',
  );
});

test('invocations N ID prints one async call: status, attempts, times, its result or error; --json the object', async (t) => {
  const ok = capture(envFor(t));
  t.is(await run(['invocations', 'greet', 'ok1'], ok.io), 0, ok.stderr());
  t.is(
    ok.stdout(),
    [
      'Invocation ok1 of greet',
      'Status:    succeeded after 1 attempt',
      'Queued:    2026-12-01T10:00:00.000Z',
      'Finished:  2026-12-01T10:00:01.000Z',
      'Result:    {"message":"Hello, Ann!"}',
      '',
    ].join('\n'),
  );
  const bad = capture(envFor(t));
  t.is(await run(['invocations', 'greet', 'bad1'], bad.io), 0, bad.stderr());
  t.regex(bad.stdout(), /^Status: {4}failed after 3 attempts$/m);
  t.regex(bad.stdout(), /^Error: {5}TypeError: x is undefined\\x1b\[2J$/m);
  const json = capture(envFor(t));
  t.is(await run(['invocations', 'greet', 'ok1', '--json'], json.io), 0);
  t.deepEqual(JSON.parse(json.stdout()), INVOCATIONS.ok1);
  const missing = capture(envFor(t));
  t.is(await run(['invocations', 'greet', 'nope'], missing.io), 4);
  t.is(missing.stderr(), ' !     function "greet" has no async invocation "nope" (LAMBDA_ERR_INVOCATION_NOT_FOUND)\n');
});
