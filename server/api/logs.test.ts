// In-process HTTP tests of GET /api/v1/functions/:name/logs through the real router: statuses, NDJSON, follow.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { testDeps } from '../../test/helpers/deps.js';
import { bootstrapAdminKey, createKeyVerifier } from '../access/token-check.js';
import { linePrefix, prefixLines } from '../logs/format.js';
import { createLogStore, type LogStore } from '../logs/store.js';
import { openStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { createApi } from './router.js';
import type { ApiContext } from './types.js';

const test = anyTest as TestFn<{ dir: string; store: Store; logs: LogStore; server: http.Server; base: string; admin: string }>;

test.beforeEach(async (t) => {
  t.context.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-api-logs-'));
  const store = openStore(':memory:');
  t.context.store = store;
  t.context.admin = bootstrapAdminKey(store, undefined).generated as string;
  store.versions.publish({ fn: 'greet', sha: '1'.repeat(40), image: 'x', manifest: '{}' });
  t.context.logs = createLogStore({ dir: t.context.dir, fileBytes: 1024 * 1024, files: 2, builds: 2, buildBytes: 64 * 1024 });
  append(t.context.logs, 'hello\tthere');
  const context = { deps: testDeps({ store, logs: t.context.logs }), verifyKey: createKeyVerifier(store) } as Partial<ApiContext> as ApiContext;
  const api = createApi(context);
  t.context.server = http.createServer((req, res) => void api(req, res, req.url ?? '/'));
  await new Promise<void>((resolve) => t.context.server.listen(0, '127.0.0.1', resolve));
  t.context.base = `http://127.0.0.1:${(t.context.server.address() as AddressInfo).port}`;
});

test.afterEach.always(async (t) => {
  t.context.server.closeAllConnections();
  await new Promise<void>((resolve) => t.context.server.close(() => resolve()));
  t.context.logs.close();
  t.context.store.close();
  fs.rmSync(t.context.dir, { recursive: true, force: true });
});

function append(logs: LogStore, text: string, time = Date.parse('2026-11-25T17:00:00Z')): void {
  const raw = Buffer.from(`${time}\to\t${text}\n`);
  logs.append('greet', prefixLines(raw, raw.length, linePrefix('aaaaaaaaaaaa', 1)));
}

const get = (t: { context: { base: string; admin: string } }, pathname: string, init: RequestInit = {}) =>
  fetch(`${t.context.base}${pathname}`, { ...init, headers: { authorization: `Bearer ${t.context.admin}` } });

test('200 with one JSON object per line', async (t) => {
  const res = await get(t, '/api/v1/functions/greet/logs');
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'application/x-ndjson');
  t.is(await res.text(), '{"time":"2026-11-25T17:00:00.000Z","stream":"out","instance":"aaaaaaaaaaaa","version":1,"text":"hello\\tthere"}\n');
});

test('follow streams a line written after it started, and ends when the client leaves', async (t) => {
  const abort = new AbortController();
  const res = await get(t, '/api/v1/functions/greet/logs?follow=1&tail=1', { signal: abort.signal });
  t.is(res.status, 200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  const readUntil = async (needle: string) => {
    while (!text.includes(needle)) text += new TextDecoder().decode((await reader.read()).value);
  };
  await readUntil('hello');
  append(t.context.logs, 'written later');
  await readUntil('written later');
  t.is(text.trim().split('\n').length, 2);
  abort.abort();
  await t.throwsAsync(reader.read(), { any: true });
});

const status = test.macro({
  async exec(t, pathname: string, expected: number, code: string, key?: string) {
    const res = await fetch(`${t.context.base}${pathname}`, { headers: { authorization: `Bearer ${key ?? t.context.admin}` } });
    t.is(res.status, expected);
    t.is(((await res.json()) as { error: { code: string } }).error.code, code);
  },
  title: (given = '', pathname: string) => `GET ${pathname}: ${given}`,
});

test('wrong key → 401', status, '/api/v1/functions/greet/logs', 401, 'LAMBDA_ERR_UNAUTHORIZED', 'lambda_wrong');
test('unknown function → 404', status, '/api/v1/functions/nobody/logs', 404, 'LAMBDA_ERR_FUNCTION_NOT_FOUND');
test('invalid name → 400', status, '/api/v1/functions/Greet/logs', 400, 'LAMBDA_ERR_INVALID_NAME');
test('encoded dots → 400', status, '/api/v1/functions/a%2e%2e/logs', 400, 'LAMBDA_ERR_INVALID_NAME');
test('unknown version → 404', status, '/api/v1/functions/greet/logs?version=v7', 404, 'LAMBDA_ERR_VERSION_NOT_FOUND');
test('bad since → 400', status, '/api/v1/functions/greet/logs?since=tomorrow', 400, 'LAMBDA_ERR_BAD_REQUEST');
test('bad tail → 400', status, '/api/v1/functions/greet/logs?tail=lots', 400, 'LAMBDA_ERR_BAD_REQUEST');
