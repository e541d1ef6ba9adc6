// In-process HTTP tests of the env and delete routes through the real router and store: a function with no live
// version yet, so no instance starts; who made a change is the API token's name.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { testDeps } from '../../test/helpers/deps.js';
import type { FunctionRepos } from '../functions/deps.js';
import type { InstancePool } from '../instances/pool/pool.js';
import type { Engine } from '../instances/engine.js';
import { createBodyReader } from '../http/body.js';
import { openStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { createApi } from './router.js';
import type { ApiContext } from './types.js';

const test = anyTest as TestFn<{ store: Store; server: http.Server; base: string; removed: string[] }>;

test.beforeEach(async (t) => {
  const store = openStore(':memory:');
  store.functions.ensure('greet');
  t.context.store = store;
  t.context.removed = [];
  const repos: FunctionRepos = { ...testDeps({ store }).repos, remove: async (name) => void t.context.removed.push(name) };
  // No instance ever served: taking a function out of the pool has nothing to stop.
  const pool = { deactivate: async () => {} } as Partial<InstancePool> as InstancePool;
  // An engine that keeps nothing per function beyond instances (no forgetFunction), as the local one.
  const engine = {} as Engine;
  const context = {
    deps: testDeps({ store, repos, pool, engine }),
    verifyKey: (key: string | undefined) => key === 'k',
    identifyKey: async (key: string | undefined) => (key === 'k' ? { id: 'abc', name: 'ci' } : undefined),
    readBody: createBodyReader({ budgetBytes: 4 * 1024 * 1024, idleMs: 5_000 }),
  } as Partial<ApiContext> as ApiContext;
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

async function call(t: { context: { base: string } }, path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string } } }> {
  const res = await fetch(`${t.context.base}${path}`, { ...init, headers: { authorization: 'Bearer k' } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

test('POST env sets and unsets in one change, GET shows the names, ?reveal=1 the values', async (t) => {
  const set = await call(t, '/api/v1/functions/greet/env', { method: 'POST', body: JSON.stringify({ set: { A: '1', B: '2' } }) });
  t.is(set.status, 200);
  t.deepEqual(set.body, { name: 'greet', release: null, keys: ['A', 'B'], changed: true, notSet: [] });
  const unset = await call(t, '/api/v1/functions/greet/env', { method: 'POST', body: JSON.stringify({ unset: ['B'] }) });
  t.deepEqual(unset.body.keys, ['A']);
  t.deepEqual(t.context.store.env.get('greet'), { A: '1' });
  const shown = await call(t, '/api/v1/functions/greet/env?reveal=1');
  t.is(shown.status, 200);
  t.true(JSON.stringify(shown.body).includes('"1"'));
  const hidden = await call(t, '/api/v1/functions/greet/env');
  t.false(JSON.stringify(hidden.body).includes('"1"'));
});

test('POST env refuses a body of the wrong shape with 400', async (t) => {
  for (const body of ['[1]', '{"set": ["A"]}', '{"unset": [1]}', 'not json']) {
    const answer = await call(t, '/api/v1/functions/greet/env', { method: 'POST', body });
    t.is(answer.status, 400, body);
    t.is(answer.body.error?.code, 'LAMBDA_ERR_BAD_REQUEST', body);
  }
});

test('DELETE removes the function and its repository; a second DELETE is 404', async (t) => {
  const first = await call(t, '/api/v1/functions/greet', { method: 'DELETE' });
  t.is(first.status, 200);
  t.like(first.body, { name: 'greet', versions: 0, images: 0 });
  t.deepEqual(t.context.removed, ['greet']);
  t.is(t.context.store.functions.get('greet'), undefined);
  const again = await call(t, '/api/v1/functions/greet', { method: 'DELETE' });
  t.is(again.status, 404);
});
