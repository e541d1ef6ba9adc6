// The byte path against Node's path, without an engine: the same raw requests to a listener with LAMBDA_BYTE_PATH on
// and one with it off, both in front of the same node20 shim run as a plain process, get identical answers: framing,
// errors, client hang-ups and pipelining. Each path's own answers are checked too, so both cannot be wrong alike.
import crypto from 'node:crypto';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { startShimGateway, type ShimGateway } from '../../test/helpers/shim-gateway.js';
import { rawExchange, type RawAnswer, type RawExchange } from '../../test/helpers/raw-http.js';

const HANDLER = `
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let calls = 0;
export const handler = async (event) => {
  const path = event.rawPath;
  if (path === '/calls') return { statusCode: 200, body: String(calls) };
  calls += 1;
  const body = event.body ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
  switch (path) {
    case '/text': return { statusCode: 200, headers: { 'content-type': 'text/plain', 'content-length': '5', 'x-custom': 'a' }, cookies: ['a=1', 'b=2'], body: 'hello' };
    // No length: the shim's server chunks it.
    case '/unsized': return { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: 'no length given' };
    case '/chunked': return { statusCode: 200, headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' }, body: 'in chunks' };
    case '/empty': return { statusCode: 204, headers: { 'x-custom': 'none' } };
    case '/not-modified': return { statusCode: 304, headers: { etag: '"v1"' } };
    case '/large': return { statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, isBase64Encoded: true, body: Buffer.alloc(2 * 1024 * 1024, 'lambda').toString('base64') };
    case '/echo': return { method: event.requestContext.http.method, query: event.rawQueryString, length: body.length, sha: (await import('node:crypto')).createHash('sha256').update(body).digest('hex'), type: event.headers['content-type'] ?? null, forwarded: event.headers['x-forwarded-for'] };
    case '/pid': return { pid: process.pid };
    // A service worker that asks for the whole origin as its scope.
    case '/sw.js': return { statusCode: 200, headers: { 'content-type': 'text/javascript', 'service-worker-allowed': '/', 'x-custom': 'sw' }, body: 'self.onfetch = () => {};' };
    case '/throw': throw new TypeError('handler failed');
    case '/slow': await sleep(60_000); return 'late';
    // Declares more than it sends, then the process ends: the instance dies mid-answer.
    case '/die': setTimeout(() => process.exit(1), 200); return { statusCode: 200, headers: { 'content-length': '100000' }, body: 'partial' };
    case '/wait': await sleep(Number(event.queryStringParameters?.ms ?? 0)); return { waited: true };
    default: return { statusCode: 404, body: 'no such path' };
  }
};
`;

const TIMEOUT_MS = 1500;
const test = anyTest as TestFn<{ gateway: ShimGateway }>;

test.before(async (t) => {
  t.context.gateway = await startShimGateway({ name: 'echo', source: HANDLER, timeoutMs: TIMEOUT_MS });
});

test.after.always(async (t) => {
  await t.context.gateway?.close();
});

/** One request, framed by hand. */
function request(method: string, target: string, headers: Record<string, string> = {}, body = ''): string {
  const lines = [`${method} /fn/echo${target} HTTP/1.1`, 'host: 127.0.0.1', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  if (body) lines.push(`content-length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * What must match between the paths: all but the date and Node's keep-alive hints (`connection: keep-alive`, the
 * default of HTTP/1.1, and `keep-alive: timeout=…`), which are each server's own.
 */
function comparable(exchange: RawExchange, ignored: string[] = []) {
  const headers = (list: [string, string][]) =>
    list
      .filter(([name, value]) => name !== 'date' && name !== 'keep-alive' && !(name === 'connection' && value.toLowerCase() === 'keep-alive') && !ignored.includes(name))
      .sort(([x], [y]) => x.localeCompare(y));
  const answer = (a: RawAnswer) => ({ status: a.status, framing: a.framing, headers: headers(a.headers), body: a.framing === 'none' ? '' : bodyText(a) });
  // An answer cut short: its head (as far as it came) and the body bytes that came.
  const rest = exchange.rest.toString('latin1');
  const end = rest.indexOf('\r\n\r\n');
  const [statusLine = '', ...fields] = (end < 0 ? rest : rest.slice(0, end)).split('\r\n');
  const cut = {
    statusLine,
    headers: headers(fields.map((line): [string, string] => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()])),
    body: end < 0 ? '' : rest.slice(end + 4),
  };
  return { answers: exchange.answers.map(answer), rest: rest === '' ? undefined : cut, closed: exchange.closed };
}

/** Bodies larger than a page are compared by their hash, so a failure's message stays readable. */
function bodyText(answer: RawAnswer): string {
  const text = answer.body.toString('latin1');
  // A 502/504's JSON names its request id, which differs per request.
  const withoutIds = text.replace(/"requestId":"[^"]*"/g, '"requestId":"…"');
  return withoutIds.length > 4096 ? `${answer.body.length} bytes, sha256 ${crypto.createHash('sha256').update(answer.body).digest('hex')}` : withoutIds;
}

interface Case {
  /** The bytes sent on one connection. */
  send: string;
  /** The methods of the requests in `send`, in order. */
  methods: string[];
  /** Checks one path's exchange (run on each). */
  check(t: ExecutionContext, exchange: RawExchange): void;
  /** The client ends its side after sending. */
  endAfter?: boolean;
  /** Read until the server closes the connection (it must). */
  untilClose?: boolean;
  /** Headers left out of the comparison. */
  ignored?: string[];
}

const sameAnswers = test.macro({
  async exec(t: ExecutionContext<{ gateway: ShimGateway }>, c: Case) {
    const { gateway } = t.context;
    const options = { endAfter: c.endAfter, untilClose: c.untilClose };
    const on = await rawExchange(gateway.port('on'), c.send, c.methods, options);
    const off = await rawExchange(gateway.port('off'), c.send, c.methods, options);
    c.check(t, on);
    c.check(t, off);
    t.deepEqual(comparable(on, c.ignored), comparable(off, c.ignored), "the byte path answers as Node's path does");
  },
  title: (title = '') => `byte path and Node's path alike: ${title}`,
});

/** Checks the answers' statuses; a failure's message shows the bodies, which say why. */
function statuses(t: ExecutionContext, exchange: RawExchange, expected: number[]): void {
  const bodies = exchange.answers.map((answer) => `${answer.status} ${answer.body.toString().slice(0, 200)}`).join('\n');
  t.deepEqual(
    exchange.answers.map((answer) => answer.status),
    expected,
    bodies,
  );
}
const header = (answer: RawAnswer | undefined, name: string) => answer?.headers.filter(([key]) => key === name).map(([, value]) => value);
const json = (answer: RawAnswer | undefined) => JSON.parse(answer?.body.toString() ?? 'null') as Record<string, unknown>;

test.serial('a content-length answer with headers and cookies', sameAnswers, {
  send: request('GET', '/text'),
  methods: ['GET'],
  check(t, { answers: [answer] }) {
    t.is(answer?.status, 200);
    t.is(answer?.framing, 'length');
    t.is(answer?.body.toString(), 'hello');
    t.deepEqual(header(answer, 'set-cookie'), ['a=1', 'b=2']);
    t.deepEqual(header(answer, 'x-custom'), ['a']);
  },
});

test.serial('a chunked answer stays chunked, asked for or not', sameAnswers, {
  send: request('GET', '/chunked') + request('GET', '/unsized'),
  methods: ['GET', 'GET'],
  check(t, { answers: [asked, unsized] }) {
    t.is(asked?.framing, 'chunked');
    t.is(asked?.body.toString(), 'in chunks');
    t.is(unsized?.framing, 'chunked');
    t.is(unsized?.body.toString(), 'no length given');
  },
});

test.serial('HEAD: the headers of the GET, no body', sameAnswers, {
  send: request('HEAD', '/text') + request('GET', '/text'),
  methods: ['HEAD', 'GET'],
  check(t, { answers: [head, get] }) {
    t.is(head?.status, 200);
    t.deepEqual(header(head, 'content-length'), ['5']);
    t.is(get?.body.toString(), 'hello', 'the next answer on the connection starts where the HEAD answer ended');
  },
});

test.serial('204 and 304 have no body, and the connection goes on', sameAnswers, {
  send: request('GET', '/empty') + request('GET', '/not-modified') + request('GET', '/text'),
  methods: ['GET', 'GET', 'GET'],
  check(t, exchange) {
    statuses(t, exchange, [204, 304, 200]);
    t.deepEqual(header(exchange.answers[1], 'etag'), ['"v1"']);
    t.is(exchange.answers[2]?.body.toString(), 'hello');
  },
});

test.serial('a large answer (2 MiB)', sameAnswers, {
  send: request('GET', '/large'),
  methods: ['GET'],
  check(t, { answers: [answer] }) {
    t.is(answer?.body.length, 2 * 1024 * 1024);
    t.true(answer?.body.subarray(0, 12).equals(Buffer.from('lambdalambda')));
  },
});

for (const size of [1, 16 * 1024, 16 * 1024 + 1, 1024 * 1024]) {
  const body = 'b'.repeat(size);
  test.serial(`a request body of ${size} bytes reaches the handler whole`, sameAnswers, {
    send: request('POST', '/echo?x=1', { 'content-type': 'text/plain' }, body),
    methods: ['POST'],
    check(t, { answers: [answer] }) {
      t.like(json(answer), { method: 'POST', query: 'x=1', length: size, sha: crypto.createHash('sha256').update(body).digest('hex'), type: 'text/plain', forwarded: '127.0.0.1' });
    },
  });
}

// A function must not widen a service worker's scope past its folder: on /fn/ paths that is every function's origin.
test.serial('a Service-Worker-Allowed header never leaves a function', sameAnswers, {
  send: request('GET', '/sw.js') + 'GET /sw.js HTTP/1.1\r\nhost: echo.lambda.test\r\n\r\n',
  methods: ['GET', 'GET'],
  check(t, exchange) {
    statuses(t, exchange, [200, 200]);
    for (const answer of exchange.answers) {
      t.deepEqual(header(answer, 'service-worker-allowed'), []);
      t.deepEqual(header(answer, 'x-custom'), ['sw']);
    }
  },
});

// A worker registered through /fn/ would sit on the shared origin; on a function's own host it is that function's business.
test.serial('a service worker script asked for through /fn/ is refused, on its own host it is served', sameAnswers, {
  send: request('GET', '/sw.js', { 'service-worker': 'script' }) + 'GET /sw.js HTTP/1.1\r\nhost: echo.lambda.test\r\nservice-worker: script\r\n\r\n' + request('GET', '/text'),
  methods: ['GET', 'GET', 'GET'],
  check(t, exchange) {
    statuses(t, exchange, [403, 200, 200]);
    t.like(json(exchange.answers[0]), { error: { code: 'LAMBDA_ERR_SERVICE_WORKER_REFUSED' } });
    t.deepEqual(header(exchange.answers[0], 'clear-site-data'), ['"storage"']);
    t.is(exchange.answers[1]?.body.toString(), 'self.onfetch = () => {};');
  },
});

test.serial('a handler that throws: 502 with no detail', sameAnswers, {
  send: request('GET', '/throw') + request('GET', '/text'),
  methods: ['GET', 'GET'],
  check(t, exchange) {
    statuses(t, exchange, [502, 200]);
    t.false(exchange.answers[0]?.body.toString().includes('handler failed'));
  },
});

test.serial('a handler past its timeout: 504, then a fresh instance serves', sameAnswers, {
  send: request('GET', '/slow') + request('GET', '/text'),
  methods: ['GET', 'GET'],
  check(t, exchange) {
    statuses(t, exchange, [504, 200]);
    t.like(json(exchange.answers[0]), { error: { code: 'LAMBDA_ERR_FUNCTION_TIMEOUT' } });
  },
});

test.serial('an instance that dies mid-answer: the head and the bytes sent, then the connection closes', sameAnswers, {
  send: request('GET', '/die'),
  methods: ['GET'],
  check(t, exchange) {
    t.deepEqual(exchange.answers, [], 'no whole answer');
    t.true(exchange.closed);
    t.regex(exchange.rest.toString(), /^HTTP\/1\.1 200 OK\r\n[^]*content-length: 100000\r\n[^]*\r\n\r\npartial$/);
  },
});

test.serial('pipelining: several requests in one write, answered in order on one connection', sameAnswers, {
  send: request('GET', '/wait?ms=150') + request('POST', '/echo', {}, 'second') + request('GET', '/chunked') + request('HEAD', '/text') + request('GET', '/text', { connection: 'close' }),
  methods: ['GET', 'POST', 'GET', 'HEAD', 'GET'],
  untilClose: true,
  check(t, exchange) {
    statuses(t, exchange, [200, 200, 200, 200, 200]);
    t.deepEqual(json(exchange.answers[0]), { waited: true }, 'the slow first answer comes first');
    t.like(json(exchange.answers[1]), { length: 6 });
    t.is(exchange.answers[2]?.body.toString(), 'in chunks');
    t.true(exchange.closed, 'closed after the request that asked for it');
  },
});

test.serial('a client that ends its side after its requests still gets every answer', sameAnswers, {
  send: request('GET', '/text') + request('GET', '/empty'),
  methods: ['GET', 'GET'],
  endAfter: true,
  untilClose: true,
  // The byte path says `connection: close` on the answers it writes once it has seen the client's end, which depends
  // on when that end arrives; Node's server closes without saying so.
  ignored: ['connection'],
  check(t, exchange) {
    statuses(t, exchange, [200, 204]);
    t.true(exchange.closed);
  },
});

async function get(port: number, target: string): Promise<Record<string, unknown>> {
  const { answers } = await rawExchange(port, request('GET', target), ['GET']);
  return json(answers[0]);
}

interface HangUp {
  /** What the client sends before it hangs up. */
  send: string;
  /** When it hangs up: at once after sending, or once the answer's first bytes arrive. */
  when: 'sent' | 'answering';
  /** Whether the handler was called. */
  called: boolean;
}

const hangUp = test.macro({
  async exec(t: ExecutionContext<{ gateway: ShimGateway }>, c: HangUp) {
    const { gateway } = t.context;
    for (const bytePath of ['on', 'off'] as const) {
      const port = gateway.port(bytePath);
      const before = { pid: (await get(port, '/pid')).pid, calls: Number(await get(port, '/calls')) };
      await new Promise<void>((resolve) => {
        void rawExchange(port, c.send, ['GET'], {
          then(socket) {
            if (c.when === 'sent') setTimeout(() => socket.destroy(), 50);
            else socket.once('data', () => socket.destroy());
            socket.once('close', () => resolve());
          },
        });
      });
      // The next request on a new connection finds the same instance: a client that left is not the instance's failure.
      const after = { pid: (await get(port, '/pid')).pid, calls: Number(await get(port, '/calls')) };
      t.is(after.pid, before.pid, `${bytePath}: the instance was not replaced`);
      // Each /pid call counts one; the hung-up request counts one more if it reached the handler.
      t.is(after.calls - before.calls, 1 + (c.called ? 1 : 0), `${bytePath}: the handler was ${c.called ? '' : 'not '}called`);
    }
  },
  title: (title = '') => `a client hang-up, on both paths: ${title}`,
});

test.serial('mid-request (the body cut short): nothing reaches the handler', hangUp, {
  send: request('POST', '/echo', {}, 'x'.repeat(1000)).slice(0, -500),
  when: 'sent',
  called: false,
});

test.serial('mid-answer (a 2 MiB answer read only at its start)', hangUp, { send: request('GET', '/large'), when: 'answering', called: true });

test.serial('while the handler runs', hangUp, { send: request('GET', '/wait?ms=300'), when: 'sent', called: true });
