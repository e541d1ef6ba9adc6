// End to end: a function whose answer never ends, called the ways whose answer the server holds in memory (a direct
// invoke, a queued public call): the call fails with a coded error at the answer cap or at the function's timeout,
// the server's memory stays bounded, and the function serves the next call. Public calls stream the answer to their
// client instead: a client that stops reading it holds no more than the sockets' buffers, until the send timeout.
import fs from 'node:fs';
import net from 'node:net';
import test from 'ava';
import { command, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;
const FN = 'endless';
/** What the server may grow by while it reads a flood: the cap is 6 MB, so this is far above a bounded read. */
const GROWTH_BOUND = 200 * 1024 * 1024;

test.before(async () => {
  await requireDocker();
  // The send timeout short (it is below the 5 s a call waits for the function's one slot), so a stalled client's is back soon.
  lambda = await startLambda({ LAMBDA_RETRY_BASE_MS: '200', LAMBDA_SEND_TIMEOUT: '2s' });
  const push = await lambda.push(FN, fixture('endless-answer'));
  if (push.code !== 0) throw new Error(`could not deploy ${FN}: ${push.stderr}`);
});

test.after.always(async () => {
  await lambda?.destroy();
});

/** The server process's resident memory, from the kernel's own account of it (0 once the process is gone). */
function rss(): number {
  try {
    const status = fs.readFileSync(`/proc/${lambda.pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/**
 * Runs `call` while watching the server's memory. Should it grow past the bound (an unbounded read), the function's
 * containers are removed (again while it stays past it), which ends the flood, so a failing run ends too instead of eating the machine.
 */
async function watched<T>(call: () => Promise<T>): Promise<{ value: T; growth: number }> {
  const base = rss();
  let peak = base;
  let removing = false;
  const sample = setInterval(() => {
    peak = Math.max(peak, rss());
    if (peak - base > GROWTH_BOUND && !removing) {
      // Every instance from then on: a retried call would start another flood.
      removing = true;
      void lambda
        .containers(FN)
        .then((ids) => (ids.length > 0 ? command('docker', ['rm', '-f', ...ids]) : undefined))
        .finally(() => (removing = false));
    }
  }, 20);
  try {
    const value = await call();
    peak = Math.max(peak, rss());
    return { value, growth: peak - base };
  } finally {
    clearInterval(sample);
  }
}

const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;

async function servesNext(t: { is(a: unknown, b: unknown, message?: string): void }): Promise<void> {
  const next = await lambda.api(`/api/v1/functions/${FN}/invoke`, { method: 'POST', body: '{}' });
  t.is(next.status, 200, 'the function serves the next call');
  t.is(((await next.json()) as { mode: string }).mode, 'none');
}

test.serial('a direct invoke whose answer never ends fails with LAMBDA_ERR_RESPONSE_TOO_LARGE, the server stays bounded', async (t) => {
  t.timeout(90_000);
  const { value: response, growth } = await watched(async () => {
    const answer = await lambda.api(`/api/v1/functions/${FN}/invoke`, { method: 'POST', body: '{"mode":"flood"}' });
    return { status: answer.status, body: (await answer.json()) as { error: { code: string; message: string } } };
  });
  t.log(`the server grew by ${mib(growth)}`);
  t.true(growth < GROWTH_BOUND, `the server grew by ${mib(growth)}`);
  t.is(response.status, 502);
  t.is(response.body.error.code, 'LAMBDA_ERR_RESPONSE_TOO_LARGE', response.body.error.message);
  await servesNext(t);
});

test.serial('`lambda invoke` of an endless answer prints the coded error', async (t) => {
  t.timeout(90_000);
  const { value: result, growth } = await watched(() => lambda.cli(['invoke', FN, '--data', '{"mode":"flood"}']));
  t.true(growth < GROWTH_BOUND, `the server grew by ${mib(growth)}`);
  t.not(result.code, 0);
  t.regex(result.stderr, /LAMBDA_ERR_RESPONSE_TOO_LARGE/);
  await servesNext(t);
});

test.serial("an answer that drips forever ends at the function's timeout, not only its head", async (t) => {
  t.timeout(90_000);
  const response = await lambda.api(`/api/v1/functions/${FN}/invoke`, { method: 'POST', body: '{"mode":"drip"}' });
  t.is(response.status, 504);
  t.is(((await response.json()) as { error: { code: string } }).error.code, 'LAMBDA_ERR_FUNCTION_TIMEOUT');
  await servesNext(t);
});

test.serial('a queued public call whose answer never ends is dead-lettered with the cap named, the server stays bounded', async (t) => {
  t.timeout(120_000);
  const { value: dead, growth } = await watched(async () => {
    // Anyone may queue a call to a public function: no API token.
    const queued = await lambda.fetch(`/fn/${FN}/flood`, { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event' } });
    t.is(queued.status, 202);
    const { invocationId } = (await queued.json()) as { invocationId: string };
    for (;;) {
      const list = (await (await lambda.api(`/api/v1/functions/${FN}/invocations`)).json()) as { invocations: { id: string; status: string; attempts: number; error: string | null }[] };
      const found = list.invocations.find((entry) => entry.id === invocationId);
      if (found?.status === 'failed') return found;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });
  t.true(growth < GROWTH_BOUND, `the server grew by ${mib(growth)}`);
  t.is(dead.attempts, 3, 'retried as any failure, then dead-lettered');
  t.regex(dead.error ?? '', /more than 6 MB/);
  const next = await lambda.fetch(`/fn/${FN}/`);
  t.is(next.status, 200, 'the function serves the next public call');
});

for (const [path, request] of [
  ['the byte path', 'GET /fn/endless/flood HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n'],
  // A chunked upload is not the byte path's: Node's path takes it.
  ["Node's path", 'POST /fn/endless/flood HTTP/1.1\r\nhost: 127.0.0.1\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n'],
] as const) {
  test.serial(`a public call on ${path} streams the endless answer: a client that stops reading costs its buffers, not the server`, async (t) => {
    t.timeout(60_000);
    const client = net.connect(lambda.port, '127.0.0.1');
    client.on('error', () => {});
    try {
      const { growth } = await watched(async () => {
        // The answer started, then the client takes no more of it.
        await new Promise<void>((resolve) => client.once('data', () => resolve()).write(request));
        client.pause();
        // The function's one slot comes back once the send timeout closes the stalled client: the next call waits for it.
        const next = await lambda.api(`/api/v1/functions/${FN}/invoke`, { method: 'POST', body: '{}' });
        t.is(next.status, 200, 'the next call is served once the send timeout freed the slot');
      });
      t.true(growth < GROWTH_BOUND, `the server grew by ${mib(growth)}`);
    } finally {
      client.destroy();
    }
  });
}
