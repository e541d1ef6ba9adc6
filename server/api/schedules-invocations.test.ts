// In-process HTTP tests of the schedule and async-queue routes: status codes and bodies through the real router and
// store (no function runs here: queued calls stay queued).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { noBackground, testDeps } from '../../test/helpers/deps.js';
import { createBodyReader } from '../http/body.js';
import { openStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { createApi } from './router.js';
import type { ApiContext } from './types.js';

const test = anyTest as TestFn<{ store: Store; server: http.Server; base: string; queued: string[] }>;

test.beforeEach(async (t) => {
  const store = openStore(':memory:');
  store.functions.ensure('greet');
  t.context.store = store;
  t.context.queued = [];
  const deps = testDeps({ store, background: { ...noBackground, queued: (fn: string) => void t.context.queued.push(fn), queueMax: 3 } });
  const context = { deps, verifyKey: (key: string | undefined) => key === 'k', readBody: createBodyReader({ budgetBytes: 4 * 1024 * 1024, idleMs: 5_000 }) } as Partial<ApiContext> as ApiContext;
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

async function call(t: { context: { base: string } }, path: string, init: RequestInit = {}): Promise<{ status: number; body: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  const headers = new Headers(init.headers);
  headers.set('authorization', 'Bearer k');
  const res = await fetch(`${t.context.base}${path}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

const event = (body: string): RequestInit => ({ method: 'POST', body, headers: { 'x-lambda-invocation-type': 'Event' } });

test('an Event invoke answers 202 with an id, stores the call and tells the workers; the queue limit answers 429', async (t) => {
  const first = await call(t, '/api/v1/functions/greet/invoke', event('{"a":1}'));
  t.is(first.status, 202);
  t.regex(String(first.body.invocationId), /^[0-9a-f-]{36}$/);
  t.deepEqual(t.context.queued, ['greet']);
  t.like(t.context.store.invocations.get('greet', String(first.body.invocationId)), { status: 'queued', payload: '{"a":1}', kind: 'event' });
  await call(t, '/api/v1/functions/greet/invoke', event('{}'));
  await call(t, '/api/v1/functions/greet/invoke', event('{}'));
  const full = await call(t, '/api/v1/functions/greet/invoke', event('{}'));
  t.is(full.status, 429);
  t.is(full.body.error?.code, 'LAMBDA_ERR_QUEUE_FULL');
  const listed = await call(t, '/api/v1/functions/greet/invocations?status=queued');
  t.is((listed.body.invocations as unknown[]).length, 3);
  t.like(listed.body.queue, { depth: 3 });
});

test('refusals: a bad invocation type 400, bad JSON 400, a body over 256 KiB 413, an unknown function 404', async (t) => {
  t.is((await call(t, '/api/v1/functions/greet/invoke', { method: 'POST', body: '{}', headers: { 'x-lambda-invocation-type': 'event' } })).status, 400);
  t.is((await call(t, '/api/v1/functions/greet/invoke', event('{nope'))).body.error?.code, 'LAMBDA_ERR_BAD_PAYLOAD');
  t.is((await call(t, '/api/v1/functions/greet/invoke', event(JSON.stringify({ pad: 'x'.repeat(257 * 1024) })))).status, 413);
  t.is((await call(t, '/api/v1/functions/nobody/invoke', event('{}'))).status, 404);
  t.is((await call(t, '/api/v1/functions/..%2fgreet/invoke', event('{}'))).body.error?.code, 'LAMBDA_ERR_INVALID_NAME');
  t.is(t.context.store.invocations.waiting('greet'), 0, 'nothing refused was queued');
});

test('schedules: 201 on create, 400 naming the cron field, 404 for an unknown id, 200 on delete', async (t) => {
  const created = await call(t, '/api/v1/functions/greet/schedules', { method: 'POST', body: JSON.stringify({ cron: '*/5 * * * *', payload: { job: 1 } }) });
  t.is(created.status, 201);
  t.like(created.body, { source: 'cli', cron: '*/5 * * * *', payload: { job: 1 }, overlap: 'skip' });
  const bad = await call(t, '/api/v1/functions/greet/schedules', { method: 'POST', body: JSON.stringify({ cron: '0 0 32 * *' }) });
  t.is(bad.status, 400);
  t.is(bad.body.error?.code, 'LAMBDA_ERR_BAD_CRON');
  t.regex(bad.body.error?.message ?? '', /day/);
  t.is((await call(t, '/api/v1/functions/greet/schedules', { method: 'POST', body: '[1]' })).status, 400);
  t.is((await call(t, '/api/v1/functions/greet/schedules/..%2f..', { method: 'DELETE' })).status, 404);
  t.is((await call(t, `/api/v1/functions/greet/schedules/${String(created.body.id)}`, { method: 'DELETE' })).status, 200);
  t.deepEqual((await call(t, '/api/v1/functions/greet/schedules')).body, { schedules: [] });
});

test('dlq: lists dead letters, replays one with 202, and answers 404 for anything else', async (t) => {
  const now = Date.now();
  t.context.store.invocations.insert({ id: '00000000-0000-4000-8000-000000000001', fn: 'greet', kind: 'event', payload: '{"x":1}', status: 'failed', attempts: 3, error: 'boom', result: null, replayOf: null, createdAt: now, runAfter: now, finishedAt: now });
  const dlq = await call(t, '/api/v1/functions/greet/dlq');
  t.like((dlq.body.invocations as unknown[])[0], { status: 'failed', attempts: 3, error: 'boom', payload: { x: 1 } });
  const replayed = await call(t, '/api/v1/functions/greet/dlq/00000000-0000-4000-8000-000000000001/replay', { method: 'POST' });
  t.is(replayed.status, 202);
  t.is(replayed.body.replayOf, '00000000-0000-4000-8000-000000000001');
  t.is((await call(t, '/api/v1/functions/greet/dlq/00000000-0000-4000-8000-000000000001/replay', { method: 'POST' })).status, 404);
  t.is((await call(t, "/api/v1/functions/greet/dlq/x'%20OR%201=1/replay", { method: 'POST' })).status, 404);
  t.is((await call(t, '/api/v1/functions/greet/invocations?status=everything')).status, 400);
});

test('one invocation: status, attempts, times and the handler result or error; 404 for an unknown id or another function', async (t) => {
  const at = Date.parse('2026-12-01T10:00:00.000Z');
  const id = '00000000-0000-4000-8000-000000000002';
  t.context.store.invocations.insert({ id, fn: 'greet', kind: 'event', payload: '{"x":1}', status: 'succeeded', attempts: 1, error: null, result: '{"ok":true}', replayOf: null, createdAt: at, runAfter: at, finishedAt: at + 1000 });
  const found = await call(t, `/api/v1/functions/greet/invocations/${id}`);
  t.is(found.status, 200);
  t.deepEqual(found.body, { id, status: 'succeeded', kind: 'event', attempts: 1, payload: { x: 1 }, error: null, result: '{"ok":true}', replayOf: null, createdAt: '2026-12-01T10:00:00.000Z', finishedAt: '2026-12-01T10:00:01.000Z' });
  t.context.store.functions.ensure('other');
  for (const path of ['/api/v1/functions/greet/invocations/00000000-0000-4000-8000-000000000009', `/api/v1/functions/other/invocations/${id}`, '/api/v1/functions/greet/invocations/not-an-id']) {
    const missing = await call(t, path);
    t.is(missing.status, 404, path);
    t.is(missing.body.error?.code, 'LAMBDA_ERR_INVOCATION_NOT_FOUND', path);
  }
  t.regex(String((await call(t, '/api/v1/functions/greet/invocations/nope')).body.error?.message), /^function "greet" has no async invocation "nope"$/);
});
