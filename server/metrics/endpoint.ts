// `GET /metrics`: Prometheus' text, for an admin API token only (the REST API's own check, its wrong-key limit included).
import type http from 'node:http';
import { LambdaError } from '../errors.js';
import type { Prometheus } from './prometheus.js';

/**
 * `verify`: the REST API's key check of the request's `Authorization: Bearer` (false: 401; an invoke-only token throws
 * LAMBDA_ERR_FORBIDDEN, 403; a client out of wrong-key allowance LAMBDA_ERR_AUTH_RATE_LIMITED, 429). Errors are thrown
 * for the listener to answer as every surface's.
 */
export function metricsEndpoint(prometheus: Pick<Prometheus, 'text' | 'contentType'>, verify: (req: http.IncomingMessage) => Promise<boolean>) {
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    // The key first: a stranger learns nothing, not even which methods exist.
    if (!(await verify(req))) throw new LambdaError('LAMBDA_ERR_UNAUTHORIZED');
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new LambdaError('LAMBDA_ERR_ROUTE_NOT_FOUND', { method: req.method ?? 'GET', path: '/metrics' });
    const text = await prometheus.text();
    res.writeHead(200, { 'content-type': prometheus.contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
  };
}
