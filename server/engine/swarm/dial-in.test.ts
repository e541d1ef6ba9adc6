// The dial-in line over a real Unix socket: the right secret lets a connection on with its later bytes intact; a wrong
// secret, an unknown instance, an endless line or silence closes it.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { acceptDialIn, DIAL_IN_LINE_MAX } from './dial-in.js';

const SECRET = 'a'.repeat(64);

/** A gateway that answers `accepted <id> <what came after the line>` or closes; returns what the client read. */
async function dial(send: (client: net.Socket) => void, timeoutMs = 5_000, overTcp = false): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dial-in-'));
  const file = path.join(dir, 'gateway.sock');
  const server = net.createServer((socket) => {
    void acceptDialIn(socket, (id) => (id === 'inst-1' ? SECRET : undefined), timeoutMs).then((id) => {
      if (id === undefined) return;
      socket.on('error', () => undefined);
      socket.once('data', (rest) => socket.end(`accepted ${id} ${rest.toString()}`));
      socket.resume();
    });
  });
  // Over TCP when the test needs a reset, which a Unix socket cannot send.
  await new Promise<void>((resolve) => (overTcp ? server.listen(0, '127.0.0.1', resolve) : server.listen(file, resolve)));
  const target = overTcp ? { port: (server.address() as net.AddressInfo).port, host: '127.0.0.1' } : { path: file };
  try {
    return await new Promise<string>((resolve) => {
      const client = net.connect(target, () => send(client));
      let answer = '';
      client.on('data', (chunk) => { answer += chunk.toString(); });
      client.on('close', () => resolve(answer));
      // A gateway that closes on a client still writing resets it: that is a close like any other here.
      client.on('error', () => resolve(answer));
    });
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('the right secret lets the connection on, and the bytes after the line reach what reads next', async (t) => {
  t.is(await dial((c) => c.write(`inst-1 ${SECRET}\nGET / HTTP/1.1`)), 'accepted inst-1 GET / HTTP/1.1');
  // The line split over writes is still one line.
  t.is(await dial((c) => { c.write('inst-1 '); setTimeout(() => c.write(`${SECRET}\nrest`), 50); }), 'accepted inst-1 rest');
});

test('a wrong secret, an unknown instance, a malformed line, an endless line and silence are all closed unanswered', async (t) => {
  t.is(await dial((c) => c.write(`inst-1 ${'b'.repeat(64)}\nx`)), '');
  t.is(await dial((c) => c.write(`inst-2 ${SECRET}\nx`)), '');
  t.is(await dial((c) => c.write(`inst-1 ${SECRET.slice(1)}\nx`)), '');
  t.is(await dial((c) => c.write(`inst-1  ${SECRET}\nx`)), '');
  t.is(await dial((c) => c.write(`inst-1 ${SECRET} logs\nx`)), '');
  // The output channel's line is right, but not for a connection that serves requests.
  t.is(await dial((c) => c.write(`inst-1 ${SECRET} log\nx`)), '');
  t.is(await dial((c) => c.write('x'.repeat(DIAL_IN_LINE_MAX * 100))), '');
  t.is(await dial(() => undefined, 200), '');
});

test('a peer that resets the connection mid-line is no error of the gateway\'s', async (t) => {
  t.is(await dial((c) => { c.write('inst-1 '); setTimeout(() => c.resetAndDestroy(), 50); }, 5_000, true), '');
});
