import test from 'ava';
import { ChunkedScanner, parseRequestHead, parseResponseHead } from './http1.js';

const request = (text: string) => parseRequestHead(Buffer.from(text, 'latin1'));
const response = (text: string, noBody = false) => parseResponseHead(Buffer.from(text, 'latin1'), noBody);

test('a plain keep-alive request is read: method, target, headers in order, host, length, size', (t) => {
  const text = 'POST /fn/greet/x?y=1 HTTP/1.1\r\nHost: Greet.localhost:8080\r\nX-Two: a\r\nx-two:  b \r\nContent-Length: 3\r\n\r\nabcGET';
  const head = request(text);
  if (typeof head !== 'object') return t.fail(head);
  t.is(head.method, 'POST');
  t.is(head.target, '/fn/greet/x?y=1');
  t.is(head.host, 'Greet.localhost:8080');
  t.is(head.contentLength, 3);
  t.false(head.close);
  t.deepEqual(head.headers, [
    ['host', 'Greet.localhost:8080'],
    ['x-two', 'a'],
    ['x-two', 'b'],
    ['content-length', '3'],
  ]);
  t.is(head.size, text.indexOf('abc'));
});

test('Connection: close is noted', (t) => {
  const head = request('GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n');
  t.true(typeof head === 'object' && head.close);
});

test('a head without its blank line yet is incomplete; past 16 KB it is not taken', (t) => {
  t.is(request('GET / HTTP/1.1\r\nHost: a\r\n'), 'incomplete');
  t.is(request(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(17 * 1024)}`), 'unsupported');
  t.is(request(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(17 * 1024)}\r\n\r\n`), 'unsupported');
});

// Every head Node's parser or the instance could read differently from the byte path goes to Node's server instead.
const notTaken = test.macro({
  exec(t, text: string) {
    t.is(request(text), 'unsupported');
  },
  title: (given) => `not taken by the byte path: ${given ?? ''}`,
});

test('HTTP/1.0', notTaken, 'GET / HTTP/1.0\r\nHost: a\r\n\r\n');
test('HTTP/2 preface', notTaken, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
test('no Host', notTaken, 'GET / HTTP/1.1\r\nX: y\r\n\r\n');
test('two Hosts', notTaken, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n');
test('chunked body', notTaken, 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
test('Content-Length and Transfer-Encoding', notTaken, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n');
test('two Content-Lengths', notTaken, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc');
test('a signed Content-Length', notTaken, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc');
test('a list in Content-Length', notTaken, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc');
test('Expect', notTaken, 'POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n');
test('Upgrade', notTaken, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
test('obs-fold', notTaken, 'GET / HTTP/1.1\r\nHost: a\r\nX: one\r\n two\r\n\r\n');
test('a space before the colon', notTaken, 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 3\r\n\r\nabc');
test('a bare LF inside the head', notTaken, 'GET / HTTP/1.1\r\nHost: a\nContent-Length: 3\r\n\r\nabc');
test('a NUL in a value', notTaken, 'GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n');
test('a line with no colon', notTaken, 'GET / HTTP/1.1\r\nHost: a\r\nnonsense\r\n\r\n');
test('absolute-form target', notTaken, 'GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n');
test('asterisk target', notTaken, 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n');
test('a space in the target', notTaken, 'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n');
test('an unknown method', notTaken, 'BREW / HTTP/1.1\r\nHost: a\r\n\r\n');
test('a lower-case method', notTaken, 'get / HTTP/1.1\r\nHost: a\r\n\r\n');
test('double spaces in the request line', notTaken, 'GET  / HTTP/1.1\r\nHost: a\r\n\r\n');
test('more than 100 headers', notTaken, `GET / HTTP/1.1\r\nHost: a\r\n${'X: y\r\n'.repeat(100)}\r\n`);

test('an answer with a length, chunked, or neither (read until close) is framed so', (t) => {
  t.like(response('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'), { statusCode: 200, framing: 5, close: false, size: 38 });
  t.like(response('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), { framing: 'chunked', close: false });
  t.like(response('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n'), { framing: 'close', close: true });
  t.like(response('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n'), { framing: 5, close: true });
  t.like(response('HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n'), { framing: 5, close: true });
  t.like(response('HTTP/1.0 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n'), { framing: 5, close: false });
});

test('answers that never have a body: to HEAD, 204, 304', (t) => {
  t.like(response('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', true), { framing: 0 });
  t.like(response('HTTP/1.1 204 No Content\r\n\r\n'), { framing: 0, close: false });
  t.like(response('HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n'), { framing: 0 });
});

const badAnswer = test.macro({
  exec(t, text: string) {
    t.is(response(text), 'invalid');
  },
  title: (given) => `a malformed answer from an instance is refused: ${given ?? ''}`,
});

test('not HTTP', badAnswer, 'hello there\r\n\r\n');
test('a two-digit status', badAnswer, 'HTTP/1.1 20 OK\r\n\r\n');
test('HTTP/2 status line', badAnswer, 'HTTP/2 200 OK\r\n\r\n');
test('two lengths', badAnswer, 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
test('length and chunked', badAnswer, 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n');
test('an encoding other than chunked', badAnswer, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n');
test('a header split by a bare LF (response splitting)', badAnswer, 'HTTP/1.1 200 OK\r\nX: a\nSet-Cookie: b\r\n\r\n');
test('a control character in a value', badAnswer, 'HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n');

test('a chunked body ends after its last chunk and trailers, however the reads split it', (t) => {
  const body = '5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: yes\r\n\r\n';
  const tail = 'HTTP/1.1 200 OK\r\n';
  for (let split = 1; split < body.length; split++) {
    const scanner = new ChunkedScanner();
    const first = scanner.feed(Buffer.from(body.slice(0, split)));
    t.is(first, split);
    t.false(scanner.done);
    const second = scanner.feed(Buffer.from(body.slice(split) + tail));
    t.is(second, body.length - split, `split at ${split}`);
    t.true(scanner.done);
  }
});

test('a malformed chunked body is refused', (t) => {
  for (const body of ['zz\r\n', '5\r\nhello!!\r\n', '5\nhello\r\n', '-1\r\n', '5\r\nhello\r\n0\r\nbad trailer\r\n\r\n', `${'f'.repeat(13)}\r\n`]) {
    t.is(new ChunkedScanner().feed(Buffer.from(body)), -1, JSON.stringify(body));
  }
});
