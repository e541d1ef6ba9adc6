// The host end of instance log sockets on real Unix sockets: lines stamped with instance and version, split anywhere
// by the sender, an unfinished last line kept, the socket the host's own (0666 in a folder the container reads only).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { InstanceLogSockets, LOG_SOCKET_NAME } from './instance-logs.js';

const test = anyTest as TestFn<{ dir: string; chunks: { fn: string; text: string }[]; sockets: InstanceLogSockets }>;
const instance = (dir: string) => ({ id: 'abcdefabcdef', fn: 'greet', sha: 'f'.repeat(40), socketPath: path.join(dir, 'host.sock') });

test.beforeEach((t) => {
  t.context.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-instance-logs-'));
  t.context.chunks = [];
  t.context.sockets = new InstanceLogSockets(
    { append: (fn, chunk) => t.context.chunks.push({ fn, text: chunk.toString() }) },
    { ratePerSecond: 1024 * 1024, versionOf: (fn, sha) => (fn === 'greet' && sha === 'f'.repeat(40) ? 4 : undefined) },
  );
});

test.afterEach.always((t) => {
  t.context.sockets.closeAll();
  fs.rmSync(t.context.dir, { recursive: true, force: true });
});

const connect = (file: string) =>
  new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(file, () => resolve(socket));
    socket.once('error', reject);
  });

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
};

test('lines split across writes are stored whole, each stamped; an unfinished last line is kept on close', async (t) => {
  const { dir, sockets, chunks } = t.context;
  sockets.open(instance(dir), 3);
  const file = path.join(dir, LOG_SOCKET_NAME);
  t.true(fs.lstatSync(file).isSocket());
  t.is(fs.statSync(file).mode & 0o777, 0o666);
  const socket = await connect(file);
  socket.write('1\to\tfir');
  await new Promise((resolve) => setTimeout(resolve, 10));
  socket.write('st\n2\to\tsecond\n3\te\tunfin');
  await new Promise((resolve) => setTimeout(resolve, 10));
  socket.end('ished');
  await until(() => chunks.map((chunk) => chunk.text).join('').includes('unfinished'));
  t.is(chunks.map((chunk) => chunk.text).join(''), 'abcdefabcdef\t3\t1\to\tfirst\nabcdefabcdef\t3\t2\to\tsecond\nabcdefabcdef\t3\t3\te\tunfinished\n');
  t.true(chunks.every((chunk) => chunk.fn === 'greet'));
});

test('an adopted instance gets its version from the store; open is idempotent; close removes the socket', async (t) => {
  const { dir, sockets, chunks } = t.context;
  sockets.open(instance(dir));
  sockets.open(instance(dir));
  const socket = await connect(path.join(dir, LOG_SOCKET_NAME));
  socket.end('1\to\tadopted\n');
  await until(() => chunks.length > 0);
  t.is(chunks[0]?.text, 'abcdefabcdef\t4\t1\to\tadopted\n');
  sockets.close('abcdefabcdef');
  t.false(fs.existsSync(path.join(dir, LOG_SOCKET_NAME)));
});

test('a function dialling many connections gets a few', async (t) => {
  const { dir, sockets } = t.context;
  sockets.open(instance(dir), 1);
  const opened = await Promise.all(Array.from({ length: 6 }, () => connect(path.join(dir, LOG_SOCKET_NAME))));
  const closed = await Promise.all(
    opened.map((socket) => new Promise<boolean>((resolve) => {
      socket.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 200);
    })),
  );
  t.is(closed.filter(Boolean).length, 2);
  for (const socket of opened) socket.destroy();
});
