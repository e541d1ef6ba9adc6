// In-process HTTP tests of GET /api/v1/metrics and /api/v1/functions/:name/metrics through the real router.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { testDeps } from '../../test/helpers/deps.js';
import { bootstrapAdminKey, createKeyVerifier } from '../access/token-check.js';
import { createToken } from '../access/tokens.js';
import { bucketOf } from '../metrics/buckets.js';
import type { MetricMinute } from '../metrics/types.js';
import { openStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { createApi } from './router.js';
import type { ApiContext } from './types.js';

const test = anyTest as TestFn<{ store: Store; server: http.Server; base: string; admin: string; pending: MetricMinute[] }>;
const MINUTE = 60_000;

function row(part: Partial<MetricMinute>): MetricMinute {
  return {
    fn: 'greet', version: 1, minute: Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE, trigger: 'http', invocations: 0, handlerErrors: 0, timeouts: 0,
    crashes: 0, throttles: 0, coldStarts: 0, coldStartMs: 0, durationMs: 0, maxMemoryMb: 0, buckets: {}, ...part,
  };
}

test.beforeEach(async (t) => {
  const store = openStore(':memory:');
  t.context.store = store;
  t.context.pending = [];
  t.context.admin = bootstrapAdminKey(store, undefined).generated as string;
  store.versions.publish({ fn: 'greet', sha: '1'.repeat(40), image: 'x', manifest: '{}' });
  store.versions.publish({ fn: 'greet', sha: '2'.repeat(40), image: 'y', manifest: '{}' });
  store.versions.publish({ fn: 'quiet', sha: '3'.repeat(40), image: 'z', manifest: '{}' });
  store.metrics.add([
    row({ version: 1, invocations: 4, handlerErrors: 1, coldStarts: 1, buckets: { [bucketOf(10)]: 4 } }),
    row({ version: 2, trigger: 'direct', invocations: 6, timeouts: 1, crashes: 1, throttles: 2, maxMemoryMb: 64, buckets: { [bucketOf(100)]: 6 } }),
    row({ version: 2, minute: Math.floor(Date.now() / MINUTE) * MINUTE - 3 * 60 * MINUTE, invocations: 50, buckets: { [bucketOf(5)]: 50 } }),
    row({ fn: 'gone', invocations: 9 }),
  ]);
  const context = { deps: testDeps({ store }), verifyKey: createKeyVerifier(store), metrics: { pending: () => t.context.pending } } as Partial<ApiContext> as ApiContext;
  const api = createApi(context);
  t.context.server = http.createServer((req, res) => void api(req, res, req.url ?? '/'));
  await new Promise<void>((resolve) => t.context.server.listen(0, '127.0.0.1', resolve));
  t.context.base = `http://127.0.0.1:${(t.context.server.address() as AddressInfo).port}`;
});

test.afterEach.always(async (t) => {
  t.context.server.closeAllConnections();
  await new Promise<void>((resolve) => t.context.server.close(() => resolve()));
  t.context.store.close();
});

async function get(t: { context: { base: string; admin: string } }, pathname: string, key?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${t.context.base}${pathname}`, { headers: { authorization: `Bearer ${key ?? t.context.admin}` } });
  return { status: res.status, body: await res.json() };
}

test('every function that exists, with its last hour; none without invocations gets zeros and null percentiles', async (t) => {
  const { status, body } = await get(t, '/api/v1/metrics');
  t.is(status, 200);
  t.is(body.step, null);
  t.is(Date.parse(body.until) - Date.parse(body.since) <= 60 * MINUTE, true);
  t.deepEqual(body.functions.map((fn: { name: string }) => fn.name), ['greet', 'quiet']);
  const [greet, quiet] = body.functions;
  t.like(greet, { name: 'greet', liveVersion: 2, invocations: 10, errors: 3, errorRate: 0.3, coldStarts: 1, throttles: 2 });
  t.true(greet.p50Ms > 9 && greet.p99Ms < 111, JSON.stringify(greet));
  t.false('series' in greet);
  t.deepEqual(quiet, { name: 'quiet', liveVersion: 1, invocations: 0, errors: 0, errorRate: 0, p50Ms: null, p95Ms: null, p99Ms: null, coldStarts: 0, throttles: 0, handlerErrors: 0, timeouts: 0, crashes: 0, maxMemoryMb: null });
});

test('since reaches further back; step adds a series with every step, oldest first', async (t) => {
  const { body } = await get(t, '/api/v1/metrics?since=4h&step=1h');
  t.is(body.step, '1h');
  const greet = body.functions[0];
  t.is(greet.invocations, 60);
  t.is(greet.series.length, 4);
  t.deepEqual(greet.series.map((p: { invocations: number }) => p.invocations), [50, 0, 0, 10]);
  t.deepEqual(Object.keys(greet.series[0]), ['at', 'invocations', 'errors', 'throttles', 'coldStarts', 'p50Ms', 'p95Ms', 'p99Ms']);
  t.is(greet.series[0].at, body.since);
  t.is(body.functions[1].series.length, 4);
});

test('one function: its total and each version, newest first, the live one marked', async (t) => {
  const { status, body } = await get(t, '/api/v1/functions/greet/metrics?since=4h');
  t.is(status, 200);
  t.like(body, { name: 'greet', liveVersion: 2, step: null, invocations: 60, errors: 3, throttles: 2 });
  t.deepEqual(body.versions.map((v: { version: number; live: boolean; invocations: number; errors: number }) => [v.version, v.live, v.invocations, v.errors]), [
    [2, true, 56, 2],
    [1, false, 4, 1],
  ]);
  // Each version's errors by kind and the most memory it reported (none: null).
  t.deepEqual(body.versions.map((v: Record<string, unknown>) => [v.handlerErrors, v.timeouts, v.crashes, v.maxMemoryMb]), [
    [0, 1, 1, 64],
    [1, 0, 0, null],
  ]);
  t.like(body, { handlerErrors: 1, timeouts: 1, crashes: 1, maxMemoryMb: 64 });
  const quiet = await get(t, '/api/v1/functions/quiet/metrics');
  t.deepEqual(quiet.body.versions.map((v: { version: number; invocations: number; p95Ms: null }) => [v.version, v.invocations, v.p95Ms]), [[1, 0, null]]);
});

test("the recorder's rows not yet stored count too", async (t) => {
  t.context.pending.push(row({ minute: Math.floor(Date.now() / MINUTE) * MINUTE, version: 2, invocations: 5 }), row({ fn: 'quiet', invocations: 1 }));
  const { body } = await get(t, '/api/v1/functions/greet/metrics');
  t.is(body.invocations, 15);
  const all = await get(t, '/api/v1/metrics');
  t.deepEqual(all.body.functions.map((fn: { invocations: number }) => fn.invocations), [15, 1]);
});

const status = test.macro({
  async exec(t, pathname: string, expected: number, code: string, key?: string | ((store: Store) => string)) {
    const { status, body } = await get(t, pathname, typeof key === 'function' ? key(t.context.store) : key);
    t.is(status, expected);
    t.is(body.error.code, code);
  },
  title: (given = '', pathname: string) => `GET ${pathname}: ${given}`,
});

test('wrong key → 401', status, '/api/v1/metrics', 401, 'LAMBDA_ERR_UNAUTHORIZED', 'lambda_wrong');
test('an invoke-only token cannot read metrics → 403', status, '/api/v1/metrics', 403, 'LAMBDA_ERR_FORBIDDEN', (store) => createToken({ store }, { scope: 'invoke' }).key);
test('unknown function → 404', status, '/api/v1/functions/gone/metrics', 404, 'LAMBDA_ERR_FUNCTION_NOT_FOUND');
test('invalid name → 400', status, '/api/v1/functions/a%2e%2e/metrics', 400, 'LAMBDA_ERR_INVALID_NAME');
test('bad since → 400', status, '/api/v1/metrics?since=forever', 400, 'LAMBDA_ERR_BAD_REQUEST');
test('since past the retention → 400', status, '/api/v1/functions/greet/metrics?since=30d', 400, 'LAMBDA_ERR_BAD_REQUEST');
test('bad step → 400', status, '/api/v1/metrics?step=10s', 400, 'LAMBDA_ERR_BAD_REQUEST');
test('too many points → 400', status, '/api/v1/metrics?since=7d&step=1m', 400, 'LAMBDA_ERR_BAD_REQUEST');

test('the message names the parameter and what is allowed', async (t) => {
  const { body } = await get(t, '/api/v1/metrics?step=10s');
  t.regex(body.error.message, /^step: expected a whole number of minutes from 1m/);
});
