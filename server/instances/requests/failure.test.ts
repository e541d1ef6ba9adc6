// How an instance's failures reach dispatch: undici's socket errors and Node's own become one InstanceFailure of the
// right kind, on both ways of reaching an instance (undici clients and raw exchanges), against a fake shim that dials
// the real host end of the socket and then misbehaves.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { errors } from 'undici';
import { AbortEmitter } from './abort.js';
import { InstanceClients, undiciFailure } from './client.js';
import type { AnswerSink } from './exchange.js';
import { InstanceFailure, socketFailure } from './failure.js';

const test = anyTest as TestFn<{ dir: string; clients: InstanceClients; target: { id: string; socketPath: string }; shims: net.Socket[] }>;

test.beforeEach((t) => {
  t.context.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-failure-'));
  t.context.clients = new InstanceClients();
  t.context.target = { id: 'failfailfail', socketPath: path.join(t.context.dir, 'host.sock') };
  t.context.shims = [];
});

test.afterEach.always(async (t) => {
  for (const socket of t.context.shims) socket.destroy();
  await t.context.clients.destroy(t.context.target.id);
  fs.rmSync(t.context.dir, { recursive: true, force: true });
});

/** A fake shim: dials the host end `count` times; each connection answers its first request with `answer` (or closes). */
function dialIn(t: { context: { clients: InstanceClients; target: { id: string; socketPath: string }; shims: net.Socket[] } }, answer: string | undefined, count = 1): void {
  t.context.clients.link(t.context.target);
  for (let i = 0; i < count; i++) {
    const socket = net.connect(t.context.target.socketPath);
    socket.on('error', () => {});
    socket.once('data', () => (answer === undefined ? socket.destroy() : socket.end(answer)));
    t.context.shims.push(socket);
  }
}

const sink = (): AnswerSink => ({ head() {}, body: () => true, onDrain() {}, flush() {} });
const GET = { head: 'GET / HTTP/1.1\r\nhost: instance\r\n\r\n', noBody: false };

function kindOf(error: unknown): string {
  return error instanceof InstanceFailure ? error.kind : `not an InstanceFailure: ${String(error)}`;
}

test("undici's socket, closed and destroyed errors are a dropped connection; its other errors stay its own", (t) => {
  for (const error of [new errors.SocketError('other side closed'), new errors.ClientClosedError(), new errors.ClientDestroyedError()]) {
    const mapped = undiciFailure(error);
    t.is(kindOf(mapped), 'dropped', error.name);
    t.is((mapped as Error).cause, error, 'the original is kept as the cause');
  }
  const invalid = new errors.InvalidArgumentError('invalid header');
  t.is(undiciFailure(invalid), invalid);
  const aborted = new errors.RequestAbortedError();
  t.is(undiciFailure(aborted), aborted);
});

test("Node's reset and broken pipe are a dropped connection; an InstanceFailure passes unchanged; other errors stay", (t) => {
  for (const code of ['ECONNRESET', 'EPIPE']) t.is(kindOf(socketFailure(Object.assign(new Error(code), { code }))), 'dropped', code);
  const failure = new InstanceFailure('unreachable', 'gone');
  t.is(socketFailure(failure), failure);
  t.is(undiciFailure(failure), failure);
  const other = Object.assign(new Error('no such file'), { code: 'EACCES' });
  t.is(socketFailure(other), other);
});

test('a connection the instance closes before answering is dropped, through undici and through a raw exchange', async (t) => {
  dialIn(t, undefined, 2);
  const viaUndici = await t.throwsAsync(t.context.clients.request(t.context.target, { path: '/', method: 'GET' }));
  t.is(kindOf(viaUndici), 'dropped');
  const viaExchange = await t.throwsAsync(t.context.clients.exchange(t.context.target, GET, sink(), new AbortEmitter(), () => {}));
  t.is(kindOf(viaExchange), 'dropped');
});

test('an answer cut short of its content-length is dropped, on both ways', async (t) => {
  dialIn(t, 'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc', 2);
  const response = await t.context.clients.request(t.context.target, { path: '/', method: 'GET' });
  t.is(response.statusCode, 200);
  t.is(kindOf(await t.throwsAsync(response.text(1024))), 'dropped', 'the body cut short');
  const viaExchange = await t.throwsAsync(t.context.clients.exchange(t.context.target, GET, sink(), new AbortEmitter(), () => {}));
  t.is(kindOf(viaExchange), 'dropped');
});

test('a malformed answer is malformed on the byte path', async (t) => {
  dialIn(t, 'NOT HTTP AT ALL\r\n\r\n');
  const error = await t.throwsAsync(t.context.clients.exchange(t.context.target, GET, sink(), new AbortEmitter(), () => {}));
  t.is(kindOf(error), 'malformed');
});

test('an instance gone before a connection was had is unreachable, on both ways', async (t) => {
  t.context.clients.link(t.context.target);
  t.context.clients.gone(t.context.target.id, 'the instance exited');
  const viaUndici = await t.throwsAsync(t.context.clients.request(t.context.target, { path: '/', method: 'GET' }));
  t.is(kindOf(viaUndici), 'unreachable');
  const viaExchange = await t.throwsAsync(t.context.clients.exchange(t.context.target, GET, sink(), new AbortEmitter(), () => {}));
  t.is(kindOf(viaExchange), 'unreachable');
});
