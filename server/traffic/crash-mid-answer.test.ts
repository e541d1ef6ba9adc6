// An instance that dies mid-answer is replaced by the dispatcher itself, on both paths, without waiting for the engine's
// report of its exit: until that report comes (late on a loaded machine) the next request must not find the dead one.
import anyTest, { type TestFn } from 'ava';
import type { ChildProcess } from 'node:child_process';
import { startShimGateway, type ShimGateway } from '../../test/helpers/shim-gateway.js';
import { rawExchange } from '../../test/helpers/raw-http.js';

const HANDLER = `
export const handler = async (event) => {
  // Declares more than it sends, then the process ends: the instance dies mid-answer.
  if (event.rawPath === '/die') {
    setTimeout(() => process.exit(1), 100);
    return { statusCode: 200, headers: { 'content-length': '100000' }, body: 'partial' };
  }
  return { statusCode: 200, body: 'alive' };
};
`;

const test = anyTest as TestFn<{ gateway: ShimGateway }>;

test.afterEach.always(async (t) => {
  await t.context.gateway?.close();
});

const request = (target: string) => `GET /fn/crashy${target} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`;

/** Holds back the exit watcher's listeners on `child` (as a loaded machine delays them); returns what lets them run. */
function holdExit(child: ChildProcess): () => void {
  const listeners = child.listeners('exit') as ((...args: unknown[]) => void)[];
  child.removeAllListeners('exit');
  const held: unknown[][] = [];
  child.on('exit', (...args: unknown[]) => held.push(args));
  return () => {
    child.removeAllListeners('exit');
    for (const args of held) for (const listener of listeners) listener(...args);
  };
}

for (const bytePath of ['on', 'off'] as const) {
  test.serial(`byte path ${bytePath}: the instance that died mid-answer is out of the pool before its exit is reported`, async (t) => {
    const gateway = await startShimGateway({ name: 'crashy', source: HANDLER, timeoutMs: 3000, spec: { maxInstances: 1 } });
    t.context.gateway = gateway;
    const first = await rawExchange(gateway.port(bytePath), request('/alive'), ['GET']);
    t.is(first.answers[0]?.status, 200);
    const [dying] = gateway.started;
    if (!dying) throw new Error('no instance started');
    const release = holdExit(dying);
    try {
      const died = await rawExchange(gateway.port(bytePath), request('/die'), ['GET'], { untilClose: true });
      t.true(died.closed, 'the client learns of the failure by the connection closing');
      // Its exit not yet reported: a fresh instance answers, not the dead one (a 502 or a 504 here was the bug).
      const next = await rawExchange(gateway.port(bytePath), request('/alive'), ['GET']);
      t.is(next.answers[0]?.status, 200, next.answers[0]?.body.toString());
      t.is(gateway.started.length, 2);
    } finally {
      release();
    }
  });
}
