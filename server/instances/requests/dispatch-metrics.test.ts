// What dispatch tells metrics, against a node20 shim run as a plain process: one invocation per request that reached an
// instance, with its trigger, a host-timed duration and how it ended (handler, timeout, crash), the cold start of the
// request that waited for a new instance, and a throttle (not an invocation) for a 429; on both paths of public traffic
// and on the host's own calls.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { startShimGateway, type ShimGateway } from '../../../test/helpers/shim-gateway.js';
import type { InvocationSample, Metrics, Trigger } from '../../metrics/types.js';
import { NO_METRICS } from '../../metrics/types.js';
import { INVOKE_HEADER } from '../protocol.js';

/** `release`: a file whose existence ends the `block` action's wait. */
const handler = (release: string) => `
import fs from 'node:fs';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const handler = async (event) => {
  const action = event.action ?? (event.rawPath ?? '/').slice(1);
  switch (action) {
    case 'throw': throw new TypeError('handler failed');
    case 'five': return { statusCode: 503, body: 'the function says it is unavailable' };
    case 'four': return { statusCode: 404, body: 'not found is an answer, not a failure' };
    case 'hang': await sleep(60_000); return 'late';
    case 'block': while (!fs.existsSync(${JSON.stringify(release)})) await sleep(10); return 'released';
    case 'exit': process.exit(3);
    default: return { ok: true };
  }
};
`;

interface Told {
  samples: InvocationSample[];
  throttles: { fn: string; version: number; trigger: Trigger }[];
}

const test = anyTest as TestFn<{ gateway: ShimGateway; told: Told }>;

function recording(told: Told): Metrics {
  return { ...NO_METRICS, invocation: (sample) => told.samples.push(sample), throttle: (fn, version, trigger) => told.throttles.push({ fn, version, trigger }) };
}

const release = path.join(os.tmpdir(), `lambda-dispatch-metrics-${process.pid}`);

/** One instance, one request at a time, one request may wait a tenth of a second: more is a 429. */
async function start(t: ExecutionContext<{ gateway: ShimGateway; told: Told }>, timeoutMs: number): Promise<{ gateway: ShimGateway; told: Told }> {
  const told: Told = { samples: [], throttles: [] };
  t.context.told = told;
  t.context.gateway = await startShimGateway({
    name: 'counted',
    source: handler(release),
    timeoutMs,
    metrics: recording(told),
    pool: { queueLength: 1, queueTimeoutMs: 100 },
    spec: { version: 7, concurrency: 1, maxInstances: 1 },
  });
  return t.context;
}

test.afterEach.always(async (t) => {
  await t.context.gateway?.close();
  fs.rmSync(release, { force: true });
});

const get = (gateway: ShimGateway, bytePath: 'on' | 'off', action: string) => fetch(`http://127.0.0.1:${gateway.port(bytePath)}/fn/counted/${action}`).then(async (response) => ({ status: response.status, text: await response.text() }));

const direct = (gateway: ShimGateway, action: string, trigger?: Trigger) =>
  gateway.dispatch.request('counted', { method: 'POST', path: '/', headers: { [INVOKE_HEADER]: 'direct', 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ action })), trigger });

for (const bytePath of ['on', 'off'] as const) {
  test.serial(`public traffic (byte path ${bytePath}): each answer counted once as http, a 5xx or a throw as a handler error, a hang as a timeout, an exit as a crash`, async (t) => {
    const { gateway, told } = await start(t, 700);
    t.is((await get(gateway, bytePath, 'ok')).status, 200);
    t.is((await get(gateway, bytePath, 'four')).status, 404);
    t.is((await get(gateway, bytePath, 'five')).status, 503);
    t.is((await get(gateway, bytePath, 'throw')).status, 502);
    t.is((await get(gateway, bytePath, 'hang')).status, 504);
    t.is((await get(gateway, bytePath, 'exit')).status, 502);
    t.is((await get(gateway, bytePath, 'ok')).status, 200);
    t.deepEqual(
      told.samples.map((sample) => [sample.fn, sample.version, sample.trigger, sample.error ?? 'ok']),
      [
        ['counted', 7, 'http', 'ok'],
        ['counted', 7, 'http', 'ok'],
        ['counted', 7, 'http', 'handler'],
        ['counted', 7, 'http', 'handler'],
        ['counted', 7, 'http', 'timeout'],
        ['counted', 7, 'http', 'crash'],
        ['counted', 7, 'http', 'ok'],
      ],
    );
    // The first request waited for the instance to start, and the one after each replacement (timeout, crash) too.
    t.deepEqual(
      told.samples.map((sample) => sample.coldStartMs !== undefined),
      [true, false, false, false, false, true, true],
    );
    for (const sample of told.samples) t.true(sample.durationMs >= 0 && sample.coldStartMs !== 0);
    // The host's timer, not the function, says how long the hang took: about its timeout.
    t.true((told.samples[4] as InvocationSample).durationMs >= 700);
    t.deepEqual(told.throttles, []);
  });
}

test.serial("the host's calls: the trigger their caller names (direct by default), the shim's error header as a handler error", async (t) => {
  const { gateway, told } = await start(t, 700);
  t.is((await direct(gateway, 'ok')).statusCode, 200);
  const threw = await direct(gateway, 'throw', 'schedule');
  t.truthy(threw.headers['x-lambda-internal-error']);
  await direct(gateway, 'ok', 'async');
  await t.throwsAsync(direct(gateway, 'hang', 'async'), { message: /did not answer|timed out|within/ });
  t.deepEqual(
    told.samples.map((sample) => [sample.trigger, sample.error ?? 'ok']),
    [
      ['direct', 'ok'],
      ['schedule', 'handler'],
      ['async', 'ok'],
      ['async', 'timeout'],
    ],
  );
});

test.serial('a 429 is a throttle of the live version with its trigger, and no invocation', async (t) => {
  const { gateway, told } = await start(t, 30_000);
  await get(gateway, 'on', 'ok');
  const busy = get(gateway, 'on', 'block');
  // The first request holds the one slot: wait until the pool says so.
  while ((gateway.pool.counts().counted?.busy ?? 0) === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  t.is((await get(gateway, 'on', 'ok')).status, 429);
  t.is((await get(gateway, 'off', 'ok')).status, 429);
  await t.throwsAsync(direct(gateway, 'ok', 'schedule'), { message: /waiting|busy/ });
  fs.writeFileSync(release, '');
  t.is((await busy).status, 200);
  t.deepEqual(told.throttles, [
    { fn: 'counted', version: 7, trigger: 'http' },
    { fn: 'counted', version: 7, trigger: 'http' },
    { fn: 'counted', version: 7, trigger: 'schedule' },
  ]);
  t.is(told.samples.length, 2);
});
