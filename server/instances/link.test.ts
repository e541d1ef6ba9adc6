// The host end of an instance's connections: a connection the instance dialled another way (the swarm link) and that
// a check left paused is served as one dialled to the instance's socket, its bytes flowing to whoever reads them.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { InstanceLink } from './link.js';

test('an adopted connection left paused flows again once its reader listens for data', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-link-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const link = new InstanceLink(path.join(dir, 'host.sock'));
  t.teardown(() => link.close());
  // Another listener stands for the gateway's swarm socket, where the dial-in line is read and the socket paused.
  const other = net.createServer();
  t.teardown(() => other.close());
  await new Promise<void>((resolve) => other.listen(path.join(dir, 'gateway.sock'), resolve));
  const accepted = new Promise<net.Socket>((resolve) => other.once('connection', resolve));
  const instance = net.connect(path.join(dir, 'gateway.sock'));
  t.teardown(() => instance.destroy());
  const socket = await accepted;
  socket.pause();
  link.adopt(socket);
  t.true(await link.ready(1000));
  const taken = await link.take();
  t.is(taken, socket);
  const received = new Promise<string>((resolve) => taken.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  instance.write('HTTP/1.1 200 OK\r\n');
  t.is(await received, 'HTTP/1.1 200 OK\r\n');
});
