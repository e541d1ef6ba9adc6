// The recorder as main.ts builds it: with metrics on, rows kept past a stop and counters seeded from them (but for
// pruned versions); with metrics off, nothing counted and no `/metrics`, while old rows still go with their function.
import test from 'ava';
import { openStore } from '../store/sqlite.js';
import { readScrape } from '../../test/helpers/prometheus.js';
import { createRecorder, type RecorderOptions } from './recorder.js';
import { NO_METRICS } from './types.js';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';

const DAY = 24 * 60 * 60_000;

const options = (store: ReturnType<typeof openStore>, over: Partial<RecorderOptions> = {}): RecorderOptions => ({
  enabled: true,
  retentionMs: 14 * DAY,
  store,
  sources: { functions: () => [], instances: () => ({}), queues: () => new Map(), deadLetters: () => new Map() },
  verify: async () => true,
  keepVersion: () => true,
  now: () => 100 * DAY,
  ...over,
});

async function read(endpoint: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>): Promise<string> {
  const server = createServer((req, res) => void endpoint(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)).text();
  } finally {
    server.close();
  }
}

test('on: what one start counted, the next start reads from its rows, except for pruned versions', async (t) => {
  const store = openStore(':memory:');
  const first = createRecorder(options(store));
  first.start();
  for (const version of [1, 2]) first.metrics.invocation({ fn: 'greet', version, trigger: 'http', at: 100 * DAY, durationMs: 2, error: 'handler' });
  first.close();
  const second = createRecorder(options(store, { keepVersion: (_fn, version) => version !== 1 }));
  second.start();
  const scrape = readScrape(await read(second.endpoint!));
  t.is(scrape.value('lambda_invocations_total', { function: 'greet', version: '2', trigger: 'http' }), 1);
  t.is(scrape.value('lambda_errors_total', { function: 'greet', version: '2', trigger: 'http', kind: 'handler' }), 1);
  t.is(scrape.value('lambda_invocations_total', { function: 'greet', version: '1', trigger: 'http' }), undefined);
  second.close();
});

test('off: nothing counted, no /metrics, and a deleted function still loses the rows an earlier start kept', (t) => {
  const store = openStore(':memory:');
  const on = createRecorder(options(store));
  on.start();
  on.metrics.invocation({ fn: 'greet', version: 1, trigger: 'http', at: 100 * DAY, durationMs: 2 });
  on.close();
  const off = createRecorder(options(store, { enabled: false }));
  off.start();
  t.is(off.endpoint, undefined);
  t.is(off.metrics.invocation, NO_METRICS.invocation);
  off.metrics.invocation({ fn: 'other', version: 1, trigger: 'http', at: 100 * DAY, durationMs: 2 });
  off.close();
  t.deepEqual(store.metrics.list({ since: 0 }).map((row) => row.fn), ['greet']);
  off.metrics.functionDeleted('greet');
  t.deepEqual(store.metrics.list({ since: 0 }), []);
});
