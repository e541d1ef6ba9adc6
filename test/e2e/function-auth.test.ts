// End to end: `auth: key` in lambda.yaml. Anonymous and wrong-key callers are refused on every way in (the /fn/ path and
// the subdomain, the byte path and Node's server, async calls) before anything reaches an instance or the queue; a valid
// API token is served, and the function never sees it. `auth: none` stays public.
import test from 'ava';
import net from 'node:net';
import { fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;
let token: string;

const LOCKED = 'runtime: node20\nhandler: index.handler\nauth: key\n';
const OPEN = 'runtime: node20\nhandler: index.handler\nauth: none\n';

test.before(async () => {
  await requireDocker();
  // Large allowances of wrong keys (per client and server-wide): this file's refusals must all be 401s
  // (auth-flood.test.ts covers the 429s).
  lambda = await startLambda({ LAMBDA_AUTH_FAILURES: '1000', LAMBDA_AUTH_SLOW_CHECKS: '1000' });
  for (const [name, manifest] of [
    ['locked', LOCKED],
    ['open', OPEN],
  ]) {
    const push = await lambda.push(name, fixture('echo'), { files: { 'lambda.yaml': manifest } });
    if (push.code !== 0) throw new Error(`push of ${name} failed: ${push.stderr}`);
  }
  const created = await lambda.api('/api/v1/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'caller' }) });
  token = ((await created.json()) as { key: string }).key;
});

test.after.always(async () => {
  await lambda?.destroy();
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `request` as raw bytes on a new connection and reads the one answer until the server closes (bounded). */
function raw(request: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(lambda.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within 15 s; read: ${Buffer.concat(chunks).toString('latin1')}`));
    }, 15_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body = rest.join('\r\n\r\n');
      if (headers['transfer-encoding'] === 'chunked') body = unchunk(body);
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
    socket.once('connect', () => socket.write(request));
  });
}

function unchunk(text: string): string {
  let out = '';
  let rest = text;
  for (let i = 0; i < 1000; i++) {
    const end = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, end), 16);
    if (!size) break;
    out += rest.slice(end + 2, end + 2 + size);
    rest = rest.slice(end + 4 + size);
  }
  return out;
}

/** What a 401 must look like: the catalogue's code as JSON and a Bearer challenge. */
function assertRefused(t: import('ava').ExecutionContext, answer: { status: number; headers: Record<string, string>; body: string }, what: string): void {
  t.is(answer.status, 401, what);
  t.is(answer.headers['www-authenticate'], 'Bearer realm="lambda"', what);
  t.is((JSON.parse(answer.body) as { error: { code: string } }).error.code, 'LAMBDA_ERR_FUNCTION_KEY_REQUIRED', what);
}

async function viaFetch(path: string, init: RequestInit & { host?: string } = {}): Promise<Answer> {
  const response = await lambda.fetch(path, init);
  return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
}

/** The headers the function saw, from the echoed event. */
const seenHeaders = (answer: Answer) => (JSON.parse(answer.body) as { event: { headers: Record<string, string | undefined> } }).event.headers;

/** START lines in the function's log: one per request that reached an instance. */
async function starts(name: string): Promise<number> {
  const text = await (await lambda.api(`/api/v1/functions/${name}/logs?tail=0`)).text();
  return text.split('\n').filter((line) => line.includes('"platform"') && line.includes('START')).length;
}

const WRONG = ['', 'Bearer wrong-key', `Bearer lambda_${'A'.repeat(43)}`, 'Basic bGFtYmRhOndyb25n', 'Bearer'];

test('the byte path: the /fn/ route and the subdomain refuse anonymous and wrong keys, serve a valid token without passing it on', async (t) => {
  for (const authorization of WRONG) {
    const headers = authorization ? { authorization } : undefined;
    assertRefused(t, await viaFetch('/fn/locked/hello', { headers }), `path route, authorization ${JSON.stringify(authorization)}`);
    assertRefused(t, await viaFetch('/hello', { headers, host: 'locked.localhost' }), `subdomain, authorization ${JSON.stringify(authorization)}`);
  }
  for (const answer of [
    await viaFetch('/fn/locked/hello', { headers: { authorization: `Bearer ${token}` } }),
    await viaFetch('/hello', { headers: { authorization: `bearer ${token}` }, host: 'locked.localhost' }),
    // The seeded admin key is an API token too.
    await viaFetch('/fn/locked/hello', { headers: { authorization: `Bearer ${lambda.key}` } }),
  ]) {
    t.is(answer.status, 200, answer.body);
    t.is(seenHeaders(answer).authorization, undefined, 'the platform token is not passed to the function');
  }
});

test("Node's path (HTTP/1.0, a chunked upload) refuses anonymous and wrong keys the same way, and serves a valid token", async (t) => {
  const http10 = (authorization?: string): Promise<Answer> =>
    raw(`GET /fn/locked/old HTTP/1.0\r\nHost: 127.0.0.1\r\n${authorization ? `Authorization: ${authorization}\r\n` : ''}\r\n`);
  const chunked = (authorization?: string): Promise<Answer> =>
    raw(
      `POST /upload HTTP/1.1\r\nHost: locked.localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n` +
        `${authorization ? `Authorization: ${authorization}\r\n` : ''}\r\n5\r\nhello\r\n0\r\n\r\n`,
    );
  for (const send of [http10, chunked]) {
    assertRefused(t, await send(), `${send === http10 ? 'HTTP/1.0' : 'chunked'} anonymous`);
    assertRefused(t, await send('Bearer wrong-key'), `${send === http10 ? 'HTTP/1.0' : 'chunked'} wrong key`);
    const served = await send(`Bearer ${token}`);
    t.is(served.status, 200, served.body);
    t.is(seenHeaders(served).authorization, undefined);
  }
});

// Serial: wrong keys sent at the same time by other tests would take the server's two slow-check slots (429), and
// their calls would land in the count of calls that reached an instance.
test.serial('async calls: anonymous and wrong keys are refused and nothing is queued; a valid token queues', async (t) => {
  const async = (authorization?: string, host?: string) =>
    viaFetch(host ? '/later' : '/fn/locked/later', {
      method: 'POST',
      host,
      headers: { 'x-lambda-invocation-type': 'Event', 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: '{"job":1}',
    });
  assertRefused(t, await async(), 'anonymous, path route');
  assertRefused(t, await async(undefined, 'locked.localhost'), 'anonymous, subdomain');
  assertRefused(t, await async('Bearer wrong-key'), 'wrong key');
  const listed = (await (await lambda.api('/api/v1/functions/locked/invocations')).json()) as { invocations: unknown[]; queue: { depth: number } };
  t.is(listed.invocations.length, 0, 'nothing was queued');
  t.is(listed.queue.depth, 0);

  const queued = await async(`Bearer ${token}`);
  t.is(queued.status, 202, queued.body);
  const after = (await (await lambda.api('/api/v1/functions/locked/invocations')).json()) as { invocations: { payload: unknown }[] };
  t.is(after.invocations.length, 1);
  t.false(JSON.stringify(after.invocations[0]?.payload).includes(token), 'the token is not kept with the queued call');
});

test.serial('refused requests never reach an instance', async (t) => {
  // Let the earlier tests' lines reach the log, then count.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const before = await starts('locked');
  for (let i = 0; i < 5; i++) {
    t.is((await viaFetch('/fn/locked/x')).status, 401);
    t.is((await raw('GET /fn/locked/x HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n')).status, 401);
  }
  t.is((await viaFetch('/fn/locked/x', { headers: { authorization: `Bearer ${token}` } })).status, 200);
  let after = before;
  for (let i = 0; i < 40 && after < before + 1; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = await starts('locked');
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is(await starts('locked'), before + 1, 'only the authorised request started an invocation');
});

test('auth: none stays public, and an Authorization header is the function’s own', async (t) => {
  const anonymous = await viaFetch('/fn/open/');
  t.is(anonymous.status, 200);
  const own = await viaFetch('/', { host: 'open.localhost', headers: { authorization: 'Bearer the-functions-own-scheme' } });
  t.is(own.status, 200);
  t.is(seenHeaders(own).authorization, 'Bearer the-functions-own-scheme');
  t.is((await raw('GET /fn/open/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n')).status, 200);
});

test('a deploy or rollback that changes auth takes effect with the switch', async (t) => {
  const first = await lambda.push('switch', fixture('echo'), { files: { 'lambda.yaml': OPEN } });
  t.is(first.code, 0, first.stderr);
  t.is((await viaFetch('/fn/switch/')).status, 200);
  const second = await lambda.push('switch', fixture('echo'), { files: { 'lambda.yaml': LOCKED } });
  t.is(second.code, 0, second.stderr);
  assertRefused(t, await viaFetch('/fn/switch/'), 'after the deploy to auth: key');
  assertRefused(t, await raw('GET /fn/switch/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n'), "after the deploy, Node's path");
  const rollback = await lambda.api('/api/v1/functions/switch/rollback', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  t.is(rollback.status, 200, await rollback.text());
  t.is((await viaFetch('/fn/switch/')).status, 200, 'public again after the rollback to v1');
});

// Serial, so its calls to `locked` are over before another test counts the calls that reached an instance.
test.serial('an invoke-only token opens `auth: key` functions and nothing else: the REST API, git and the token verbs refuse it', async (t) => {
  const create = async (body: object) => {
    const answer = await lambda.api('/api/v1/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    t.is(answer.status, 201);
    return (await answer.json()) as { id: string; key: string; scope: string; function: string | null };
  };
  const anyFunction = await create({ name: 'callers', scope: 'invoke' });
  const onlyLocked = await create({ name: 'locked-caller', scope: 'invoke', function: 'locked' });
  t.is(anyFunction.scope, 'invoke');
  t.is(onlyLocked.function, 'locked');

  const served = await viaFetch('/fn/locked/hello', { headers: { authorization: `Bearer ${anyFunction.key}` } });
  t.is(served.status, 200, served.body);
  t.is(seenHeaders(served).authorization, undefined);
  t.is((await viaFetch('/hello', { host: 'locked.localhost', headers: { authorization: `Bearer ${onlyLocked.key}` } })).status, 200);
  t.is((await raw(`GET /fn/locked/old HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${onlyLocked.key}\r\n\r\n`)).status, 200);

  // A token for one function does not open another.
  const pushed = await lambda.push('locked-too', fixture('echo'), { files: { 'lambda.yaml': LOCKED } });
  t.is(pushed.code, 0, pushed.stderr);
  t.is((await viaFetch('/fn/locked-too/', { headers: { authorization: `Bearer ${anyFunction.key}` } })).status, 200);
  const other = await viaFetch('/fn/locked-too/', { headers: { authorization: `Bearer ${onlyLocked.key}` } });
  t.is(other.status, 403);
  t.is((JSON.parse(other.body) as { error: { code: string } }).error.code, 'LAMBDA_ERR_FORBIDDEN');

  for (const key of [anyFunction.key, onlyLocked.key]) {
    for (const [method, path] of [
      ['GET', '/api/v1/functions'],
      ['GET', '/api/v1/functions/locked/env'],
      ['POST', '/api/v1/tokens'],
      ['DELETE', '/api/v1/functions/locked'],
    ]) {
      const answer = await viaFetch(path, { method, headers: { authorization: `Bearer ${key}` } });
      t.is(answer.status, 403, `${method} ${path}`);
      t.is((JSON.parse(answer.body) as { error: { code: string } }).error.code, 'LAMBDA_ERR_FORBIDDEN');
    }
    const git = await viaFetch('/git/locked.git/info/refs?service=git-upload-pack', { headers: { authorization: `Basic ${Buffer.from(`lambda:${key}`).toString('base64')}` } });
    t.is(git.status, 403, 'git over HTTP refuses it');
  }
  // The function is still there, and the tokens are listed with their scope.
  t.is((await lambda.api('/api/v1/functions/locked')).status, 200);
  const listed = (await (await lambda.api('/api/v1/tokens')).json()) as { tokens: { id: string; scope: string; function: string | null }[] };
  t.like(listed.tokens.find((one) => one.id === onlyLocked.id), { scope: 'invoke', function: 'locked' });
  t.is(listed.tokens.find((one) => one.id === anyFunction.id)?.scope, 'invoke');

  // The CLI makes one, and lists its scope.
  const made = await lambda.cli(['tokens', 'create', '--invoke', '--function', 'locked', '--name', 'from-cli', '--json']);
  t.is(made.code, 0, made.stderr);
  const cliToken = JSON.parse(made.stdout) as { key: string };
  t.is((await viaFetch('/fn/locked/', { headers: { authorization: `Bearer ${cliToken.key}` } })).status, 200);
  t.is((await viaFetch('/api/v1/functions', { headers: { authorization: `Bearer ${cliToken.key}` } })).status, 403);
  const table = await lambda.cli(['tokens', 'list']);
  t.regex(table.stdout, /^\S+\s+from-cli\s.*\sinvoke:locked$/m);
});

/** A request whose head is sent now and whose body trickles (a byte every 2 s, bounded) until `finish` sends the rest. */
function held(head: string, first: string, tick: string, maxTicks: number): { finish(rest: (ticks: number) => string): Promise<number> } {
  const socket = net.connect(lambda.port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
  socket.once('connect', () => socket.write(head + first));
  let ticks = 0;
  const timer = setInterval(() => {
    if (ticks < maxTicks) {
      ticks++;
      socket.write(tick);
    }
  }, 2_000);
  return {
    async finish(rest) {
      clearInterval(timer);
      socket.write(rest(ticks));
      const guard = setTimeout(() => socket.destroy(), 30_000);
      await closed;
      clearTimeout(guard);
      return Number(Buffer.concat(chunks).toString('latin1').split(' ')[1]);
    },
  };
}

test.serial('a keyless request held open while the function switches to auth: key does not reach the new version', async (t) => {
  const open = await lambda.push('held', fixture('echo'), { files: { 'lambda.yaml': OPEN } });
  t.is(open.code, 0, open.stderr);
  // Both ways in, their heads read while the function is public: Node's path (chunked) and the byte path (a length).
  const chunked = held('POST /fn/held/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n', '5\r\nhello\r\n', '1\r\nx\r\n', 60);
  const LENGTH = 80;
  const sized = held(`POST /fn/held/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: ${LENGTH}\r\n\r\n`, 'hello', 'x', 60);
  // Let the server read both heads (and check them against the public version) before the switch starts.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const locked = await lambda.push('held', fixture('echo'), { files: { 'lambda.yaml': LOCKED } });
  t.is(locked.code, 0, locked.stderr);
  assertRefused(t, await viaFetch('/fn/held/'), 'a new request after the switch');
  t.is(await chunked.finish(() => '0\r\n\r\n'), 401, 'the chunked request finished after the switch');
  t.is(await sized.finish((ticks) => 'y'.repeat(LENGTH - 5 - ticks)), 401, 'the sized request finished after the switch');
});

test.serial('async calls queued anonymously while the function was public do not run once it switches to auth: key', async (t) => {
  // One call at a time; /slow holds the only slot, so the calls behind it wait in the queue through the switch.
  const handler = [
    'export const handler = async (event) => {',
    '  console.log(`http ${event.rawPath}`);',
    "  if (event.rawPath === '/slow') await new Promise((resolve) => setTimeout(resolve, 15000));",
    '  console.log(`done ${event.rawPath}`);',
    "  return { statusCode: 200, body: 'ok' };",
    '};',
  ].join('\n');
  const manifest = (auth: string) => `runtime: node20\nhandler: index.handler\ntimeout: 30s\nconcurrency: 1\nmaxInstances: 1\nauth: ${auth}\n`;
  const open = await lambda.push('queued', fixture('echo'), { files: { 'index.mjs': handler, 'lambda.yaml': manifest('none') } });
  t.is(open.code, 0, open.stderr);
  const logged = async () => {
    const text = await (await lambda.api('/api/v1/functions/queued/logs?tail=0')).text();
    return text.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { text: string }).text);
  };
  const queue = async (path: string) => {
    const answer = await viaFetch(`/fn/queued${path}`, { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event' }, body: 'anonymous' });
    t.is(answer.status, 202, answer.body);
    return (JSON.parse(answer.body) as { invocationId: string }).invocationId;
  };
  const slow = await queue('/slow');
  for (let i = 0; i < 50 && !(await logged()).includes('http /slow'); i++) await new Promise((resolve) => setTimeout(resolve, 200));
  t.true((await logged()).includes('http /slow'), 'the slow call never started');
  const waiting = [await queue('/later1'), await queue('/later2'), await queue('/later3')];
  const locked = await lambda.push('queued', fixture('echo'), { files: { 'index.mjs': handler, 'lambda.yaml': manifest('key') } });
  t.is(locked.code, 0, locked.stderr);
  t.false((await logged()).includes('done /slow'), 'the switch came after the slow call ended: the test proves nothing');
  type Call = { id: string; status: string; attempts: number; error: string | null };
  const calls = async () => ((await (await lambda.api('/api/v1/functions/queued/invocations')).json()) as { invocations: Call[] }).invocations;
  const settled = async () => (await calls()).filter((call) => [slow, ...waiting].includes(call.id) && ['succeeded', 'failed'].includes(call.status)).length === 4;
  for (let i = 0; i < 200 && !(await settled()); i++) await new Promise((resolve) => setTimeout(resolve, 250));
  const byId = new Map((await calls()).map((call) => [call.id, call]));
  t.is(byId.get(slow)?.status, 'succeeded', 'the call already running finishes');
  for (const id of waiting) {
    const call = byId.get(id);
    t.is(call?.status, 'failed', `queued call ${id} was not failed`);
    t.is(call?.attempts, 1, 'a refused call is not retried');
    t.regex(call?.error ?? '', /LAMBDA_ERR_FUNCTION_KEY_REQUIRED.*now requires a key/);
  }
  t.deepEqual((await logged()).filter((line) => line.startsWith('http /later')), [], 'a keyless queued call reached the auth: key version');
  // A call queued with a valid token still runs on the protected version.
  const keyed = await viaFetch('/fn/queued/keyed', { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event', authorization: `Bearer ${token}` }, body: 'with a key' });
  t.is(keyed.status, 202, keyed.body);
  const keyedId = (JSON.parse(keyed.body) as { invocationId: string }).invocationId;
  const done = async () => (await calls()).find((call) => call.id === keyedId)?.status === 'succeeded';
  for (let i = 0; i < 120 && !(await done()); i++) await new Promise((resolve) => setTimeout(resolve, 250));
  t.true(await done(), 'the call queued with a token did not run');
  t.true((await logged()).includes('http /keyed'));
});
