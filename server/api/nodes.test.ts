// In-process HTTP tests of GET /api/v1/nodes through the real router: the engine's nodes to an admin API token only.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { testDeps } from '../../test/helpers/deps.js';
import { bootstrapAdminKey, createKeyVerifier } from '../access/token-check.js';
import { createToken } from '../access/tokens.js';
import type { Engine, NodeInfo } from '../instances/engine.js';
import { openStore } from '../store/sqlite.js';
import { createApi } from './router.js';
import type { ApiContext } from './types.js';

const NODES: NodeInfo[] = [
  { id: 'a1', hostname: 'manager-1', role: 'manager', state: 'ready', availability: 'active', engineVersion: '20.10.24', instances: 2, cells: 1 },
  { id: 'b2', hostname: 'worker-1', role: 'worker', state: 'down', availability: 'drain', engineVersion: '20.10.24', instances: 0, cells: 0 },
];

async function serve(engine: Partial<Engine>): Promise<{ base: string; admin: string; invoke: string; close(): Promise<void> }> {
  const store = openStore(':memory:');
  const admin = bootstrapAdminKey(store, undefined).generated as string;
  const invoke = createToken({ store }, { scope: 'invoke' }).key;
  const context = { deps: testDeps({ store, engine: engine as Engine }), verifyKey: createKeyVerifier(store) } as Partial<ApiContext> as ApiContext;
  const api = createApi(context);
  const server = http.createServer((req, res) => void api(req, res, req.url ?? '/'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    admin,
    invoke,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      store.close();
    },
  };
}

test("an admin API token gets the engine's nodes", async (t) => {
  const api = await serve({ nodes: async () => NODES });
  t.teardown(api.close);
  const res = await fetch(`${api.base}/api/v1/nodes`, { headers: { authorization: `Bearer ${api.admin}` } });
  t.is(res.status, 200);
  t.deepEqual(await res.json(), { nodes: NODES });
});

test('an invoke-only API token is refused (403), no key at all too (401), and the engine is not asked', async (t) => {
  let asked = 0;
  const api = await serve({ nodes: async () => (asked++, NODES) });
  t.teardown(api.close);
  const invoke = await fetch(`${api.base}/api/v1/nodes`, { headers: { authorization: `Bearer ${api.invoke}` } });
  t.is(invoke.status, 403);
  t.is(((await invoke.json()) as { error: { code: string } }).error.code, 'LAMBDA_ERR_FORBIDDEN');
  const none = await fetch(`${api.base}/api/v1/nodes`);
  t.is(none.status, 401);
  t.is(asked, 0);
});
