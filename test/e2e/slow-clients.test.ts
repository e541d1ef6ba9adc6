// End to end, clients that stall: one that asks for a large answer and never reads it gives its instance's slot back
// after the send timeout (on the byte path and on Node's), a slow but steady reader still gets all of it, and every
// upload that stalls one byte short is closed after the body's idle timeout, whatever the body budget does.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

/** Short limits keep the test quick. A request waits 3 s for the busy function: longer than the send timeout. */
const SETTINGS = { LAMBDA_SEND_TIMEOUT: '2s', LAMBDA_BODY_IDLE_TIMEOUT: '2s', LAMBDA_QUEUE_TIMEOUT: '3s' };
const MB = 1024 * 1024;

const servers: Record<'bytes' | 'node', Lambda | undefined> = { bytes: undefined, node: undefined };

test.before(async () => {
  await requireDocker();
  const start = async (which: 'bytes' | 'node', env: Record<string, string>) => {
    const lambda = await startLambda({ ...SETTINGS, ...env });
    servers[which] = lambda;
    // One instance with one slot (maxInstances 1, concurrency 1): whoever holds it holds the whole function.
    const push = await lambda.push('big', fixture('big-answer'));
    if (push.code !== 0) throw new Error(`could not deploy big-answer: ${push.stderr}`);
  };
  await start('bytes', {});
  await start('node', { LAMBDA_BYTE_PATH: 'off' });
});

test.after.always(async () => {
  await Promise.all([servers.bytes?.destroy(), servers.node?.destroy()]);
});

const server = (which: 'bytes' | 'node'): Lambda => {
  const lambda = servers[which];
  if (!lambda) throw new Error(`the ${which} server did not start`);
  return lambda;
};

/** A client that asks for the 16 MB answer and never reads a byte of it. */
async function nonReader(lambda: Lambda): Promise<net.Socket> {
  const socket = net.connect(lambda.port, '127.0.0.1');
  socket.pause();
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('GET /fn/big/?mb=16 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  return socket;
}

const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'late'> =>
  Promise.race([promise, new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), ms).unref())]);

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const nonReadersLetGo = test.macro(async (t: ExecutionContext, which: 'bytes' | 'node') => {
  const lambda = server(which);
  const first = await lambda.fetch('/fn/big/?mb=1');
  t.is(first.status, 200);
  t.is((await first.text()).length, MB);
  const before = await lambda.containers('big');
  t.is(before.length, 1);
  const logFrom = lambda.output().length;

  // The first takes the one slot, the second waits for it; the pauses only put them in that order.
  const stalled = [await nonReader(lambda)];
  await pause(300);
  stalled.push(await nonReader(lambda));
  await pause(300);
  try {
    // A normal caller: at most 20 tries (each a 429 after the 3 s wait in the queue, or the answer).
    const statuses: number[] = [];
    let body = '';
    for (let attempt = 0; attempt < 20; attempt++) {
      const response = await lambda.fetch('/fn/big/?mb=1');
      statuses.push(response.status);
      if (response.status === 200) {
        body = await response.text();
        break;
      }
      await response.arrayBuffer();
    }
    t.log(`the normal caller's tries: ${statuses.join(',')}`);
    t.is(statuses[0], 429, 'the clients that do not read held the slot at first (the attack took effect)');
    t.is(statuses.at(-1), 200, `statuses: ${statuses.join(',')}`);
    // Whole and only its own: an instance connection that carried half an answer to a stalled client was not reused.
    t.is(body.length, MB);
    t.true(/^x+$/.test(body));

    // Both stalled clients were closed on the server's side (they read nothing, so they cannot tell); bounded: 20 s.
    const ports = new Set(stalled.map((socket) => socket.localPort as number));
    let held = heldByServer(lambda.pid, lambda.port, ports);
    for (let check = 0; check < 80 && held > 0; check++) {
      await pause(250);
      held = heldByServer(lambda.pid, lambda.port, ports);
    }
    t.is(held, 0, 'the server closed both clients that did not read');

    // The stall was the clients' failure: the instance stays, and keeps answering whole answers.
    t.deepEqual(await lambda.containers('big'), before, 'the instance was not replaced');
    t.notRegex(lambda.output().slice(logFrom), /replacing it|replaced/);
    const again = await Promise.all([lambda.fetch('/fn/big/?mb=2'), lambda.fetch('/fn/big/?mb=2')]);
    t.deepEqual(await Promise.all(again.map(async (response) => `${response.status} ${(await response.text()).length}`)), [`200 ${2 * MB}`, `200 ${2 * MB}`]);
  } finally {
    for (const socket of stalled) socket.destroy();
  }
});

test.serial('byte path: two clients that never read their answer do not keep the function busy', nonReadersLetGo, 'bytes');
test.serial("Node's path: two clients that never read their answer do not keep the function busy", nonReadersLetGo, 'node');

const pipelinedNonReader = test.macro(async (t: ExecutionContext, which: 'bytes' | 'node') => {
  const lambda = server(which);
  const before = await lambda.containers('big');
  // Two requests on one connection, neither read: Node's server takes the second at once and queues its answer
  // behind the first's, so the second holds a slot too unless the connection's close reaches it.
  const socket = net.connect(lambda.port, '127.0.0.1');
  socket.pause();
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('GET /fn/big/?mb=16 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /fn/big/?mb=16 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  await pause(300);
  try {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 20; attempt++) {
      const response = await lambda.fetch('/fn/big/?mb=1');
      statuses.push(response.status);
      const body = await response.text();
      if (response.status === 200) {
        t.is(body.length, MB);
        break;
      }
    }
    t.log(`the normal caller's tries: ${statuses.join(',')}`);
    t.is(statuses.at(-1), 200, `statuses: ${statuses.join(',')}`);
    t.deepEqual(await lambda.containers('big'), before, 'the instance was not replaced');
  } finally {
    socket.destroy();
  }
});

test.serial('byte path: pipelined requests that are never read do not keep the function busy', pipelinedNonReader, 'bytes');
test.serial("Node's path: pipelined requests that are never read do not keep the function busy", pipelinedNonReader, 'node');

const slowReader = test.macro(async (t: ExecutionContext, which: 'bytes' | 'node') => {
  const lambda = server(which);
  // It takes one read, waits 150 ms, takes the next: several seconds for 2 MB, longer than the send timeout, always progressing.
  const { status, length } = await new Promise<{ status: number; length: number }>((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port: lambda.port, path: '/fn/big/?mb=2', agent: false }, (response) => {
      let length = 0;
      response.on('data', (chunk: Buffer) => {
        length += chunk.length;
        response.pause();
        setTimeout(() => response.resume(), 150);
      });
      response.on('end', () => {
        clearTimeout(bound);
        resolve({ status: response.statusCode ?? 0, length });
      });
      response.on('error', reject);
    });
    const bound = setTimeout(() => request.destroy(new Error('no end within 60 s')), 60_000);
    request.on('error', reject);
  });
  t.is(status, 200);
  t.is(length, 2 * MB);
});

test.serial('byte path: a slow but steady reader gets the whole answer', slowReader, 'bytes');
test.serial("Node's path: a slow but steady reader gets the whole answer", slowReader, 'node');

/** Resident memory of the server process, in bytes. */
function rss(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/**
 * How many of the connections from `clientPorts` the server process still holds open, as the kernel sees them (its
 * descriptors, matched to the TCP table). A client that reads nothing never learns that the server closed its side,
 * so the count is taken on the server's side.
 */
function heldByServer(pid: number, port: number, clientPorts: Set<number>): number {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    const target = (() => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })();
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match) inodes.add(match[1] as string);
  }
  let held = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = fs.existsSync(table) ? fs.readFileSync(table, 'utf8').split('\n').slice(1) : [];
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const local = parseInt((fields[1] as string).split(':')[1] as string, 16);
      const remote = parseInt((fields[2] as string).split(':')[1] as string, 16);
      if (local === port && clientPorts.has(remote) && inodes.has(fields[9] as string)) held += 1;
    }
  }
  return held;
}

test.serial('every upload that stalls one byte short is closed by the server, whatever the body budget does', async (t) => {
  const lambda = server('bytes');
  const baseline = rss(lambda.pid);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rss(lambda.pid))), 100);
  const connections = 40;
  const declared = 6 * 1000 * 1000;
  const sockets: net.Socket[] = [];
  const answers: Promise<string>[] = [];
  for (let index = 0; index < connections; index++) {
    const socket = net.connect(lambda.port, '127.0.0.1');
    sockets.push(socket);
    // Half of them read nothing at all, as an attacker's would; the others read the server's answer.
    const reads = index % 4 < 2;
    if (!reads) socket.pause();
    answers.push(
      new Promise<string>((resolve) => {
        let answer = '';
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
        // The server may reset a refused upload while the client still writes: that closes it too.
        socket.once('error', () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 'reset'));
        socket.once('close', () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 'reset'));
      }),
    );
    const path = index % 2 === 0 ? '/fn/big/upload' : '/api/v1/functions/big/invoke';
    socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${lambda.key}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${declared}\r\n\r\n`);
    socket.write(Buffer.alloc(declared - 1, 120));
  }
  await Promise.all(sockets.map((socket) => (socket.localPort ? undefined : new Promise((resolve) => socket.once('connect', resolve)))));
  const ports = new Set(sockets.map((socket) => socket.localPort as number));
  const heldAtFirst = heldByServer(lambda.pid, lambda.port, ports);
  // The idle timeout is 2 s; 30 s is the generous bound after which this test stops waiting and counts.
  let held = heldAtFirst;
  for (let check = 0; check < 120 && held > 0; check++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    held = heldByServer(lambda.pid, lambda.port, ports);
  }
  const readers = sockets.map((_, index) => index).filter((index) => index % 4 < 2);
  const seen = await Promise.all(readers.map((index) => within(answers[index] as Promise<string>, 5000)));
  clearInterval(sampler);
  for (const socket of sockets) socket.destroy();
  t.log(`the server held ${heldAtFirst} of ${connections} connections once all had connected`);
  t.is(held, 0, `${held} of ${connections} stalled uploads still open on the server's side`);
  t.true(seen.every((status) => ['408', '503', 'reset'].includes(status)), `what the reading clients saw: ${seen.join(',')}`);
  const growth = peak - baseline;
  // 40 × 6 MB were sent; the body budget (64 MB by default) bounds what the server keeps.
  t.true(growth < 160 * MB, `RSS grew by ${Math.round(growth / MB)} MB`);
  t.is((await lambda.fetch('/fn/big/?mb=1')).status, 200, 'the server still serves');
});
