// End to end: the gateway's byte path. Function requests are framed once and their answers relayed as bytes;
// anything unusual goes to Node's server on the same connection; an instance's answer, hostile or not, can never reach
// another request. test/fixtures/raw-answers writes its answers byte by byte and echoes what it was sent.
import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import { example, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  // A short headers timeout, for the test of connections that send nothing or half a head.
  lambda = await startLambda({ LAMBDA_HEADERS_TIMEOUT: '2s' });
  for (const [name, dir] of [
    ['raw', fixture('raw-answers')],
    ['greet', example('greet')],
  ]) {
    const push = await lambda.push(name, dir);
    if (push.code !== 0) throw new Error(`push of ${name} failed: ${push.stderr}`);
  }
});

test.after.always(async () => {
  await lambda?.destroy();
});

/** Writes `parts` to one connection (pausing between them) and returns all it reads until the server closes it. */
function exchange(parts: string[], pauseMs = 50): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(lambda.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within 10 s; read: ${Buffer.concat(chunks).toString('latin1')}`));
    }, 10_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.once('connect', async () => {
      for (const part of parts) {
        socket.write(part);
        await new Promise((wait) => setTimeout(wait, pauseMs));
      }
    });
  });
}

/** The status codes of every answer in `text`, in order. */
const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));

/** Sends requests one after another on one kept-alive connection through Node's strict client parser. */
async function sequential(paths: string[]): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; socket: unknown }[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const answers = [];
  try {
    for (const path of paths) {
      answers.push(
        await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; socket: unknown }>((resolve, reject) => {
          const request = http.get({ host: '127.0.0.1', port: lambda.port, path, agent }, (response) => {
            let body = '';
            response.setEncoding('latin1');
            response.on('data', (chunk: string) => (body += chunk));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body, socket: request.socket }));
            response.on('error', reject);
          });
          request.on('error', reject);
        }),
      );
    }
  } finally {
    agent.destroy();
  }
  return answers;
}

test('pipelined function requests are answered in order, and a request for the API after them switches the connection to Node', async (t) => {
  const output = await exchange([
    'GET /fn/greet/?name=One HTTP/1.1\r\nHost: localhost\r\n\r\nGET /fn/greet/?name=Two HTTP/1.1\r\nHost: localhost\r\n\r\n' +
      'GET /api/v1/functions HTTP/1.1\r\nHost: localhost\r\n\r\nGET /fn/greet/?name=Three HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
  ]);
  t.deepEqual(statuses(output), [200, 200, 401, 200]);
  const one = output.indexOf('Hello, One!');
  const two = output.indexOf('Hello, Two!');
  const denied = output.indexOf('LAMBDA_ERR_UNAUTHORIZED');
  const three = output.indexOf('Hello, Three!');
  t.true(one > 0 && two > one && denied > two && three > denied, output);
});

const answeredByNode = test.macro({
  async exec(t, parts: string[], expected: RegExp) {
    const output = await exchange(parts);
    // Expect: 100-continue is answered 100 first.
    t.is(statuses(output).at(-1), 200, output);
    t.regex(output, expected);
  },
  title: (given) => `answered on Node's path: ${given ?? ''}`,
});

test('a head split across writes', answeredByNode, ['GET /fn/raw/split HTTP/1.1\r\nHo', 'st: localhost\r\nConnection: close\r\n\r\n'], /"target": "\/split"/);
test('HTTP/1.0', answeredByNode, ['GET /fn/raw/old HTTP/1.0\r\nHost: localhost\r\n\r\n'], /"target": "\/old"/);
test(
  'a chunked upload',
  answeredByNode,
  ['POST /fn/raw/up HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
  /"body": "hello"/,
);
test(
  'Expect: 100-continue',
  answeredByNode,
  ['POST /fn/raw/ask HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n', 'hi'],
  /"body": "hi"/,
);
test(
  'a body larger than the byte path takes',
  answeredByNode,
  [`POST /fn/raw/big HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n${'x'.repeat(100_000)}`],
  /"target": "\/big"/,
);

test('a request/body mismatch is refused by Node, not passed on: Content-Length with Transfer-Encoding is a 400', async (t) => {
  const output = await exchange(['POST /fn/raw/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /fn/raw/smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n']);
  t.is(statuses(output)[0], 400, output);
  t.notRegex(output, /smuggled/);
});

test('the instance gets the client headers except hop-by-hop and internal ones, and the gateway x-forwarded-*', async (t) => {
  const output = await exchange([
    'POST /fn/raw/echo?q=1 HTTP/1.1\r\nHost: localhost\r\nX-Custom: a\r\nX-Lambda-Internal-Invoke: direct\r\nX-Lambda-Internal-Secret: guess\r\n' +
      'X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Host: evil.example\r\nKeep-Alive: timeout=1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
  ]);
  t.is(statuses(output)[0], 200, output);
  const echoed = JSON.parse(output.slice(output.indexOf('\r\n\r\n') + 4)) as { method: string; target: string; headers: [string, string][]; body: string };
  t.is(echoed.method, 'POST');
  t.is(echoed.target, '/echo?q=1');
  t.is(echoed.body, 'hello');
  const headers = Object.fromEntries(echoed.headers);
  t.is(headers['x-custom'], 'a');
  t.is(headers['content-length'], '5');
  t.is(headers['x-forwarded-for'], '192.0.2.1, 127.0.0.1');
  t.is(headers['x-forwarded-host'], 'localhost');
  t.is(headers['x-forwarded-proto'], 'http');
  t.is(headers['x-forwarded-prefix'], '/fn/raw');
  t.deepEqual(
    echoed.headers.map(([name]) => name).filter((name) => name.startsWith('x-lambda-internal-') || name === 'keep-alive' || name === 'connection'),
    [],
  );
});

test('answers are relayed as the instance framed them: chunked with trailers across writes, until close, after early hints', async (t) => {
  const [chunked, hints, hopByHop, untilClose] = await sequential(['/fn/raw/chunked', '/fn/raw/hints', '/fn/raw/hop-by-hop', '/fn/raw/until-close']);
  t.is(chunked.status, 200);
  t.is(chunked.body, 'hello world');
  t.is(chunked.headers['transfer-encoding'], 'chunked');
  t.is(hints.status, 200);
  t.is(hints.body, 'hints');
  t.is(hopByHop.body, 'kept');
  t.is(hopByHop.headers['x-kept'], 'yes');
  t.is(hopByHop.headers['keep-alive'], undefined);
  t.is(hopByHop.headers['x-lambda-internal-error'], undefined);
  // The first three shared the client's connection; the last, read until the instance closed, ends it.
  t.is(hints.socket, chunked.socket);
  t.is(hopByHop.socket, chunked.socket);
  t.is(untilClose.body, 'all of it');
  t.is(untilClose.headers.connection, 'close');
});

test('a hostile answer never reaches another request: bytes past its end are dropped, a malformed one is a 502', async (t) => {
  const output = await exchange([
    'GET /fn/raw/smuggle HTTP/1.1\r\nHost: localhost\r\n\r\n',
    'GET /fn/raw/after HTTP/1.1\r\nHost: localhost\r\n\r\n',
    'GET /fn/raw/garbage HTTP/1.1\r\nHost: localhost\r\n\r\n',
    'GET /fn/raw/last HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
  ], 300);
  t.deepEqual(statuses(output), [200, 200, 502, 200], output);
  t.notRegex(output, /forged/);
  t.regex(output, /\r\n\r\nokHTTP\/1\.1 200/);
  t.regex(output, /"target": "\/after"/);
  t.regex(output, /LAMBDA_ERR_FUNCTION_CRASHED/);
  t.regex(output, /"target": "\/last"/);
  t.regex(lambda.output(), /instance \S+ of raw sent an answer that is not well-framed HTTP: replacing it/);
});

test('an unknown function and a bad name are answered on the same connection, which stays open', async (t) => {
  const output = await exchange([
    'GET /fn/nobody/ HTTP/1.1\r\nHost: localhost\r\n\r\nGET /fn/Bad..Name/ HTTP/1.1\r\nHost: localhost\r\n\r\nGET / HTTP/1.1\r\nHost: greet.localhost\r\nConnection: close\r\n\r\n',
  ]);
  t.deepEqual(statuses(output), [404, 400, 200], output);
  t.regex(output, /LAMBDA_ERR_FUNCTION_NOT_FOUND/);
  t.regex(output, /Hello, World!/);
});

test('a connection that sends nothing is closed after the headers timeout, and one that sends half a head gets 408', async (t) => {
  t.is(await exchange([]), '');
  const output = await exchange(['GET /fn/greet/ HTTP/1.1\r\nHo']);
  t.deepEqual(statuses(output), [408], output);
});
