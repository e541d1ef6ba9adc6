// In-process HTTP tests of the tokens routes: status codes and bodies through the real router, store and key check.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { testDeps } from '../../test/helpers/deps.js';
import { bootstrapAdminKey, createKeyVerifier } from '../access/token-check.js';
import { createBodyReader } from '../http/body.js';
import { openStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { createApi } from './router.js';
import type { ApiContext } from './types.js';

const test = anyTest as TestFn<{ store: Store; server: http.Server; base: string; admin: string }>;

test.beforeEach(async (t) => {
  const store = openStore(':memory:');
  t.context.store = store;
  t.context.admin = bootstrapAdminKey(store, undefined).generated as string;
  // Only what the tokens routes use is real here; the function routes are not called.
  const context = {
    deps: testDeps({ store }),
    verifyKey: createKeyVerifier(store),
    readBody: createBodyReader({ budgetBytes: 1024 * 1024, idleMs: 5_000 }),
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

type Call = (path: string, init?: RequestInit & { key?: string | null }) => Promise<{ status: number; body: unknown }>;

const call = (t: { context: { base: string; admin: string } }): Call => async (path, init = {}) => {
  const headers = new Headers(init.headers);
  const key = init.key === undefined ? t.context.admin : init.key;
  if (key !== null) headers.set('authorization', `Bearer ${key}`);
  const res = await fetch(`${t.context.base}${path}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
};

const post = (body: string): RequestInit => ({ method: 'POST', body, headers: { 'content-type': 'application/json' } });
const codeOf = (body: unknown): unknown => (body as { error?: { code?: unknown } }).error?.code;

test('GET /api/v1/tokens: 200 and the tokens, without keys or hashes', async (t) => {
  const { status, body } = await call(t)('/api/v1/tokens');
  t.is(status, 200);
  const tokens = (body as { tokens: Record<string, unknown>[] }).tokens;
  t.is(tokens.length, 1);
  t.deepEqual(Object.keys(tokens[0] ?? {}).sort(), ['createdAt', 'function', 'id', 'lastUsedAt', 'name', 'scope']);
  t.is(tokens[0]?.name, 'admin');
  t.is(typeof tokens[0]?.lastUsedAt, 'string', 'this very request used it');
});

test('POST: 201 with the key once; the key works; DELETE: 204 and the key is refused', async (t) => {
  const api = call(t);
  const created = await api('/api/v1/tokens', post('{"name":"ci"}'));
  t.is(created.status, 201);
  const token = created.body as { id: string; name: string; key: string; createdAt: string; lastUsedAt: null };
  t.like(token, { name: 'ci', lastUsedAt: null });
  t.regex(token.key, /^lambda_/);

  t.is((await api('/api/v1/tokens', { key: token.key })).status, 200);
  const listed = (await api('/api/v1/tokens')).body as { tokens: { id: string }[] };
  t.true(listed.tokens.some((one) => one.id === token.id));
  t.false(JSON.stringify(listed).includes(token.key));

  const revoked = await api(`/api/v1/tokens/${token.id}`, { method: 'DELETE' });
  t.is(revoked.status, 204);
  t.is(revoked.body, undefined);
  const refused = await api('/api/v1/tokens', { key: token.key });
  t.is(refused.status, 401);
  t.is(codeOf(refused.body), 'LAMBDA_ERR_UNAUTHORIZED');
});

test('POST with no body or {} creates a token with no name', async (t) => {
  const api = call(t);
  const empty = await api('/api/v1/tokens', { method: 'POST' });
  t.is(empty.status, 201);
  t.is((empty.body as { name: string }).name, '');
  t.is((await api('/api/v1/tokens', post('{}'))).status, 201);
});

const status = test.macro({
  async exec(t, path: string, init: RequestInit & { key?: string | null }, expected: number, code: string) {
    const { status: actual, body } = await call(t)(path, init);
    t.is(actual, expected);
    t.is(codeOf(body), code);
  },
  title: (given = '', path: string, init: RequestInit) => `${init.method ?? 'GET'} ${path}: ${given}`,
});

test('no key → 401', status, '/api/v1/tokens', { key: null }, 401, 'LAMBDA_ERR_UNAUTHORIZED');
test('wrong key → 401', status, '/api/v1/tokens', { key: 'lambda_wrong' }, 401, 'LAMBDA_ERR_UNAUTHORIZED');
test('create without a key → 401', status, '/api/v1/tokens', { ...post('{"name":"x"}'), key: null }, 401, 'LAMBDA_ERR_UNAUTHORIZED');
test('revoke without a key → 401', status, '/api/v1/tokens/abc', { method: 'DELETE', key: null }, 401, 'LAMBDA_ERR_UNAUTHORIZED');
test('not JSON → 400', status, '/api/v1/tokens', post('{name'), 400, 'LAMBDA_ERR_BAD_REQUEST');
test('an array → 400', status, '/api/v1/tokens', post('["ci"]'), 400, 'LAMBDA_ERR_BAD_REQUEST');
test('a number name → 400', status, '/api/v1/tokens', post('{"name":7}'), 400, 'LAMBDA_ERR_BAD_REQUEST');
test('a long name → 400', status, '/api/v1/tokens', post(JSON.stringify({ name: 'x'.repeat(65) })), 400, 'LAMBDA_ERR_BAD_REQUEST');
test('a control character in the name → 400', status, '/api/v1/tokens', post('{"name":"a\\u001bb"}'), 400, 'LAMBDA_ERR_BAD_REQUEST');
test('a huge body → 413', status, '/api/v1/tokens', post(JSON.stringify({ name: 'x'.repeat(100_000) })), 413, 'LAMBDA_ERR_BODY_TOO_LARGE');
test('unknown id → 404', status, '/api/v1/tokens/0000000000000000', { method: 'DELETE' }, 404, 'LAMBDA_ERR_TOKEN_NOT_FOUND');
// fetch resolves %2e%2e as "..", as browsers do, so this reaches /api/v1/ and no route.
test('encoded dots → 404', status, '/api/v1/tokens/%2e%2e', { method: 'DELETE' }, 404, 'LAMBDA_ERR_ROUTE_NOT_FOUND');
test('dots inside an id → 404', status, '/api/v1/tokens/a%2e%2e', { method: 'DELETE' }, 404, 'LAMBDA_ERR_TOKEN_NOT_FOUND');
test('an encoded slash → 404', status, '/api/v1/tokens/..%2Ffunctions', { method: 'DELETE' }, 404, 'LAMBDA_ERR_TOKEN_NOT_FOUND');
test('a malformed escape → 404', status, '/api/v1/tokens/%zz', { method: 'DELETE' }, 404, 'LAMBDA_ERR_TOKEN_NOT_FOUND');
test('no id → 404 route', status, '/api/v1/tokens/', { method: 'DELETE' }, 404, 'LAMBDA_ERR_ROUTE_NOT_FOUND');
test('a path below an id → 404 route', status, '/api/v1/tokens/abc/def', { method: 'DELETE' }, 404, 'LAMBDA_ERR_ROUTE_NOT_FOUND');
test('another method → 404 route', status, '/api/v1/tokens', { method: 'PUT' }, 404, 'LAMBDA_ERR_ROUTE_NOT_FOUND');

test('DELETE of the last token → 409, and the key still works', async (t) => {
  const api = call(t);
  const [admin] = ((await api('/api/v1/tokens')).body as { tokens: { id: string }[] }).tokens;
  const refused = await api(`/api/v1/tokens/${admin?.id}`, { method: 'DELETE' });
  t.is(refused.status, 409);
  t.is(codeOf(refused.body), 'LAMBDA_ERR_LAST_TOKEN');
  t.is((await api('/api/v1/tokens')).status, 200);
});

test('a token may revoke itself when another remains', async (t) => {
  const api = call(t);
  const token = (await api('/api/v1/tokens', post('{"name":"self"}'))).body as { id: string; key: string };
  t.is((await api(`/api/v1/tokens/${token.id}`, { method: 'DELETE', key: token.key })).status, 204);
  t.is((await api('/api/v1/tokens', { key: token.key })).status, 401);
});
