// `GET /metrics` behind its key check: 401 without a key or with a wrong one, the check's own refusal (403 for an
// invoke-only token) passed on, GET and HEAD only, Prometheus' content type.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { LambdaError } from '../errors.js';
import { sendError } from '../http/errors.js';
import { metricsEndpoint } from './endpoint.js';

test('only the right key reads the metrics, with GET or HEAD', async (t) => {
  const endpoint = metricsEndpoint({ text: async () => 'lambda_up 1\n', contentType: 'text/plain; version=0.0.4; charset=utf-8' }, async (req) => {
    if (req.headers.authorization === 'Bearer invoke-only') throw new LambdaError('LAMBDA_ERR_FORBIDDEN', { what: 'functions', where: '/metrics' });
    return req.headers.authorization === 'Bearer right';
  });
  const server = http.createServer((req, res) => void endpoint(req, res).catch((error: unknown) => sendError(res, error)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  const call = (authorization?: string, method = 'GET') => fetch(url, { method, headers: authorization ? { authorization } : {} });

  for (const key of [undefined, 'Bearer wrong', 'right', 'Basic right']) {
    const refused = await call(key);
    t.is(refused.status, 401, String(key));
    // The refusal says how to send the key, so a scrape config can be fixed from the answer alone.
    t.deepEqual(((await refused.json()) as { error: unknown }).error, { code: 'LAMBDA_ERR_UNAUTHORIZED', message: 'a valid API token is required: send its key as `Authorization: Bearer <key>`' });
  }
  t.is((await call('Bearer invoke-only')).status, 403);
  const answer = await call('Bearer right');
  t.is(answer.status, 200);
  t.is(answer.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  t.is(await answer.text(), 'lambda_up 1\n');
  const head = await call('Bearer right', 'HEAD');
  t.is(head.status, 200);
  t.is(await head.text(), '');
  t.is((await call('Bearer right', 'POST')).status, 404);
  t.is((await call(undefined, 'POST')).status, 401);
});
