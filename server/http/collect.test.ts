// The collection after released bodies: asks before it runs are one, it runs at most once per interval, V8's own gc
// is reachable without --expose-gc, and the body reader asks only after a large amount it held is all released.
import http from 'node:http';
import net from 'node:net';
import test from 'ava';
import { createCollector } from './collect.js';
import { createBodyReader } from './body.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('several asks are one collection, and the next waits for the interval', async (t) => {
  let runs = 0;
  const collector = createCollector({ delayMs: 10, minIntervalMs: 200, gc: () => runs++ });
  collector.request();
  collector.request();
  collector.request();
  await pause(60);
  t.is(runs, 1);
  collector.request();
  await pause(60);
  t.is(runs, 1, 'not again within the interval');
  await pause(250);
  t.is(runs, 2, 'but once it has passed');
  t.is(collector.count(), 2);
  collector.request();
  collector.stop();
  await pause(250);
  t.is(runs, 2, 'a stopped collector runs nothing');
});

test("V8's gc runs without --expose-gc", async (t) => {
  const collector = createCollector({ delayMs: 0, minIntervalMs: 0 });
  collector.request();
  await pause(50);
  t.is(collector.count(), 1);
});

/** A server whose requests are read by `read`; each request's outcome is reported, its answer a plain 200. */
async function reading(read: ReturnType<typeof createBodyReader>): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    read(req, 8 * 1024 * 1024).then(
      () => res.end('ok'),
      () => res.end('failed'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function stalledUpload(port: number, declared: number, sent: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(`POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${declared}\r\n\r\n`);
  socket.write(Buffer.alloc(sent, 'x'));
  return socket;
}

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await pause(20);
}

test('the body reader asks for a collection once stalled bodies over the mark are all released, not for small ones', async (t) => {
  let released = 0;
  const read = createBodyReader({ budgetBytes: 64 * 1024 * 1024, idleMs: 60_000, releaseMarkBytes: 1024 * 1024, released: () => released++ });
  const server = await reading(read);
  try {
    // Small: 4 × 100 KB stalled, then let go.
    const small = await Promise.all(Array.from({ length: 4 }, () => stalledUpload(server.port, 200_000, 100_000)));
    await until(() => read.inFlight() === 400_000);
    t.is(read.inFlight(), 400_000);
    for (const socket of small) socket.destroy();
    await until(() => read.inFlight() === 0);
    t.is(read.inFlight(), 0);
    t.is(released, 0);
    // Large: 4 × 1 MB stalled; one leaving is not all of them.
    const large = await Promise.all(Array.from({ length: 4 }, () => stalledUpload(server.port, 2_000_000, 1_000_000)));
    await until(() => read.inFlight() === 4_000_000);
    t.is(read.inFlight(), 4_000_000);
    large[0]?.destroy();
    await until(() => read.inFlight() === 3_000_000);
    t.is(released, 0);
    for (const socket of large) socket.destroy();
    await until(() => read.inFlight() === 0);
    t.is(read.inFlight(), 0);
    t.is(released, 1);
  } finally {
    await server.close();
  }
});
