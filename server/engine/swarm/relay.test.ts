// The platform's relay (relay/main.go) without an engine: built by this machine's Go and run on loopback in front of
// a gateway socket of this test's, as an attacker on a function's network would meet it: its bounds on connections
// (in all and per source address), its deadlines (a handshake, then the dial-in line), and a pair whose one side
// ended is closed whole, so its room is free again.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { RELAY_HOST, ensureAuthority, signRelayCertificate, type KeyPair } from './certificates.js';

const SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'relay', 'main.go');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-relay-'));
const children: ChildProcess[] = [];
const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
let binary: string;
let authority: Buffer;
let pair: KeyPair;

test.before(async () => {
  const signer = await ensureAuthority(path.join(dir, 'authority'));
  authority = fs.readFileSync(signer.certFile);
  pair = await signRelayCertificate(signer, path.join(dir, 'relays'), 'fn');
  binary = path.join(dir, 'relay');
  execFileSync('go', ['build', '-trimpath', '-o', binary, SOURCE], {
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '', GOPROXY: 'off', GOTOOLCHAIN: 'local' },
    stdio: 'pipe',
  });
});

test.after.always(() => {
  for (const socket of sockets) socket.destroy();
  for (const child of children) child.kill('SIGKILL');
  for (const server of servers) server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Gateway {
  path: string;
  /** Each connection's first line, in order of arrival. */
  lines: string[];
  /** Resolves with the next connection the relay opens here. */
  next(): Promise<net.Socket>;
}

let gateways = 0;

/** A gateway socket: it answers each line with `accepted <line>`, then does what `then` says with the connection. */
async function gateway(then: 'hold' | 'end' = 'hold'): Promise<Gateway> {
  const socketPath = path.join(dir, `gateway-${(gateways += 1)}.sock`);
  const lines: string[] = [];
  const waiting: ((socket: net.Socket) => void)[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    waiting.shift()?.(socket);
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString();
      const end = head.indexOf('\n');
      if (end < 0) return;
      socket.off('data', onData);
      lines.push(head.slice(0, end));
      socket.write(`accepted ${head.slice(0, end)}\n`);
      if (then === 'end') socket.end();
    };
    socket.on('data', onData);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return { path: socketPath, lines, next: () => new Promise((resolve) => waiting.push(resolve)) };
}

/** The relay on a free loopback port in front of `target`; its port once it listens. */
async function relay(target: Gateway, most: number, perSource: number): Promise<number> {
  const child = spawn(binary, ['127.0.0.1:0', pair.certFile, pair.keyFile, target.path, String(most), String(perSource)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const port = /relaying 127\.0\.0\.1:(\d+)/.exec(out)?.[1];
      if (port) resolve(Number(port));
    });
    child.once('exit', (code) => reject(new Error(`the relay exited (${code})`)));
  });
}

interface Client {
  socket: tls.TLSSocket;
  /** The gateway's first answer, or `closed` when the connection closed first. */
  answer: Promise<string>;
  closed: Promise<void>;
}

/** A TLS client of the relay pinning the platform's authority; it sends `line` once connected, unless told not to. */
function dial(port: number, line: string | undefined, options: { localAddress?: string; allowHalfOpen?: boolean } = {}): Client {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: RELAY_HOST, ca: authority, ...options }, () => {
    if (line !== undefined) socket.write(`${line}\n`);
  });
  sockets.push(socket);
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const answer = new Promise<string>((resolve) => {
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    void closed.then(() => resolve('closed'));
  });
  return { socket, answer, closed };
}

/** A dial that may find the room still held for a moment (the relay notices a connection's end on its next read). */
async function dialOnceFree(port: number, line: string): Promise<string> {
  let answer = 'closed';
  for (let tries = 0; answer === 'closed' && tries < 50; tries += 1) {
    if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    answer = await dial(port, line).answer;
  }
  return answer;
}

test('a client that never finishes its handshake is dropped, which frees its room', async (t) => {
  t.timeout(30_000);
  const target = await gateway();
  const port = await relay(target, 1, 1);
  const silent = net.connect(port, '127.0.0.1');
  sockets.push(silent);
  silent.on('error', () => undefined);
  await new Promise((resolve) => silent.once('connect', resolve));
  // The one slot is taken: another client is closed unanswered.
  t.is(await dial(port, 'second').answer, 'closed');
  await new Promise((resolve) => silent.once('close', resolve));
  t.is(await dialOnceFree(port, 'third'), 'accepted third');
  t.deepEqual(target.lines, ['third']);
});

test('a client that says nothing after its handshake is dropped, and the gateway\'s end of it with it', async (t) => {
  t.timeout(30_000);
  // This gateway never drops a silent connection itself: the relay's own deadline must.
  const target = await gateway();
  const port = await relay(target, 4, 4);
  const upstream = target.next();
  const client = dial(port, undefined);
  const ended = new Promise<void>((resolve) => void upstream.then((socket) => socket.once('close', () => resolve())));
  await client.closed;
  await ended;
  t.deepEqual(target.lines, []);
});

test('once its dial-in line has gone through, a connection outlives the deadline', async (t) => {
  t.timeout(30_000);
  const target = await gateway();
  const port = await relay(target, 4, 4);
  const upstream = target.next();
  const client = dial(port, 'a-1 secret');
  t.is(await client.answer, 'accepted a-1 secret');
  // Past the relay's 5 s for the line, the connection still carries the host's bytes.
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  const later = new Promise<string>((resolve) => client.socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  (await upstream).write('a request\n');
  t.is(await later, 'a request\n');
});

test('when the gateway ends its side, the relay closes the client\'s too, and its room is free again', async (t) => {
  t.timeout(30_000);
  const target = await gateway('end');
  const port = await relay(target, 1, 1);
  // A client that keeps its own side open after the gateway's end (it never ends it, nor sends again) holds nothing.
  const first = dial(port, 'first', { allowHalfOpen: true });
  t.is(await first.answer, 'accepted first');
  await new Promise((resolve) => first.socket.once('end', resolve));
  t.is(await dialOnceFree(port, 'second'), 'accepted second');
  t.deepEqual(target.lines, ['first', 'second']);
});

test('one source address holds at most its share of the relay; another address still gets in, and so does it once one ends', async (t) => {
  t.timeout(30_000);
  const target = await gateway();
  const port = await relay(target, 3, 2);
  const held = [dial(port, 'one-1'), dial(port, 'one-2')];
  t.deepEqual(await Promise.all(held.map((client) => client.answer)), ['accepted one-1', 'accepted one-2']);
  t.is(await dial(port, 'one-3').answer, 'closed');
  t.is(await dial(port, 'two-1', { localAddress: '127.0.0.2' }).answer, 'accepted two-1');
  // The relay is full in all now (3): an address that holds nothing is refused too.
  t.is(await dial(port, 'three-1', { localAddress: '127.0.0.3' }).answer, 'closed');
  held[0].socket.destroy();
  await held[0].closed;
  t.is(await dialOnceFree(port, 'one-4'), 'accepted one-4');
  t.deepEqual([...target.lines].sort(), ['one-1', 'one-2', 'one-4', 'two-1']);
});
