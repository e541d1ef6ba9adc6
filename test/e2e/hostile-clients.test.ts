// End to end, attacks by anonymous clients: requests that used to replace a warm instance (and fail the other
// requests in flight on it) end only themselves, and stalled uploads cannot pin the server's memory.
import fs from 'node:fs';
import net from 'node:net';
import test from 'ava';
import { fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  // A short idle time keeps the stalled-upload test quick; everything else is the default.
  lambda = await startLambda({ LAMBDA_BODY_IDLE_TIMEOUT: '2s' });
  const push = await lambda.push('probe', fixture('probe'));
  if (push.code !== 0) throw new Error(`could not deploy probe: ${push.stderr}`);
});

test.after.always(async () => {
  await lambda?.destroy();
});

/** Sends raw bytes and resolves with everything the server answered until it closed (or `waitMs` passed). */
function raw(payload: string | Buffer, options: { waitMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(lambda.port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.write(payload);
    setTimeout(() => socket.destroy(), options.waitMs ?? 3000);
  });
}

const slowRequest = () => lambda.fetch('/fn/probe/slow?ms=800').then((response) => response.status);

async function sameInstanceAfter(t: import('ava').ExecutionContext, attack: () => Promise<void>): Promise<void> {
  t.is((await lambda.fetch('/fn/probe/')).status, 200);
  const before = await lambda.containers('probe');
  t.is(before.length, 1);
  const inFlight = [slowRequest(), slowRequest()];
  await attack();
  t.deepEqual(await Promise.all(inFlight), [200, 200], 'requests in flight on the same instance still succeed');
  t.is((await lambda.fetch('/fn/probe/')).status, 200);
  t.deepEqual(await lambda.containers('probe'), before, 'the warm instance was not replaced');
}

test.serial('Expect: 100-continue is served, and the instance stays', async (t) => {
  await sameInstanceAfter(t, async () => {
    const body = '{"hello":"world"}';
    const answer = await raw(
      `POST /fn/probe/expect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    t.regex(answer, /HTTP\/1\.1 100 Continue/);
    t.regex(answer, /HTTP\/1\.1 200 OK/);
    t.regex(answer, /\\"hello\\":\\"world\\"/);
  });
});

test.serial('OPTIONS * gets 400, and the instance stays', async (t) => {
  await sameInstanceAfter(t, async () => {
    const answer = await raw(`OPTIONS * HTTP/1.1\r\nHost: probe.localhost:${lambda.port}\r\nConnection: close\r\n\r\n`);
    t.regex(answer, /^HTTP\/1\.1 400/);
    t.regex(answer, /LAMBDA_ERR_BAD_REQUEST/);
  });
});

test.serial('a client that hangs up while the answer streams ends only its own request', async (t) => {
  await sameInstanceAfter(t, async () => {
    await new Promise<void>((resolve) => {
      const socket = net.connect(lambda.port, '127.0.0.1');
      socket.write(`GET /fn/probe/big?mb=20 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      socket.once('data', () => {
        socket.destroy();
        resolve();
      });
    });
    // And one that hangs up before the handler answers.
    const early = net.connect(lambda.port, '127.0.0.1');
    early.write(`GET /fn/probe/slow?ms=300 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    early.destroy();
    await new Promise((resolve) => setTimeout(resolve, 400));
  });
});

test.serial("a slow reader gets the whole answer: the handler's timeout does not run while the client downloads", async (t) => {
  await sameInstanceAfter(t, async () => {
    // The probe's timeout is 2 s; this client reads nothing for 3 s, then reads 20 MB.
    const received = await new Promise<number>((resolve, reject) => {
      const socket = net.connect(lambda.port, '127.0.0.1');
      let bytes = 0;
      socket.write(`GET /fn/probe/big?mb=20 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      socket.pause();
      setTimeout(() => socket.resume(), 3000);
      socket.on('data', (chunk) => (bytes += chunk.length));
      socket.on('end', () => resolve(bytes));
      socket.on('error', reject);
    });
    t.true(received > 20 * 1024 * 1024, `received ${received} bytes`);
  });
});

test.serial('a hung handler is replaced once, however many requests were in flight on it', async (t) => {
  const before = lambda.output().length;
  const statuses = await Promise.all([1, 2, 3, 4].map(() => lambda.fetch('/fn/probe/hang').then((r) => r.status)));
  t.deepEqual(statuses, [504, 504, 504, 504]);
  t.is((await lambda.fetch('/fn/probe/')).status, 200);
  const log = lambda.output().slice(before);
  t.is((log.match(/replacing it/g) ?? []).length, 1, log);
  t.notRegex(log, /removal of container .* is already in progress|could not stop instance/);
});

/** Resident memory of the server process, in bytes. */
function rss(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

test.serial('stalled uploads hold bounded memory, get 408 or 503, and release it', async (t) => {
  const baseline = rss(lambda.pid);
  const connections = 40;
  const declared = 6_000_001;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rss(lambda.pid))), 100);
  const answers = await Promise.all(
    Array.from({ length: connections }, (_, index) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(lambda.port, '127.0.0.1');
        let answer = '';
        socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
        // The server may close a refused upload while the client still writes: a reset is an answer too.
        socket.on('error', () => resolve(answer || 'HTTP/1.1 RST'));
        socket.on('close', () => resolve(answer));
        const path = index % 2 === 0 ? '/fn/probe/upload' : '/api/v1/functions/probe/invoke';
        socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${lambda.key}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${declared}\r\n\r\n`);
        // Send all but the last byte, then stall; the server must give up on its own (bounded: 30 s).
        socket.write(Buffer.alloc(declared - 1, 120));
        setTimeout(() => socket.destroy(), 30_000);
      }),
    ),
  );
  clearInterval(sampler);
  const statuses = answers.map((answer) => /^HTTP\/1\.1 (\d{3}|RST)/.exec(answer)?.[1] ?? 'none');
  t.true(statuses.every((status) => status === '408' || status === '503' || status === 'RST'), statuses.join(','));
  t.true(statuses.includes('408'), 'stalled bodies time out');
  const growth = peak - baseline;
  // 40 × 6 MB = 240 MB were sent; the body budget (64 MB by default) bounds what the server keeps.
  t.true(growth < 160 * 1024 * 1024, `RSS grew by ${Math.round(growth / 1024 / 1024)} MB`);
  t.is((await lambda.fetch('/fn/probe/')).status, 200, 'the server still serves');
});
