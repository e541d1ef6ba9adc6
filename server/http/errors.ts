// The HTTP transport's one mapping from error kinds to status codes, and the JSON error body.
import type http from 'node:http';
import { asLambdaError, type ErrorKind } from '../errors.js';

export const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  too_many: 429,
  timeout: 504,
  upstream: 502,
  unavailable: 503,
  internal: 500,
};

export function errorBody(error: unknown): { status: number; body: { error: { code: string; message: string; details?: unknown } } } {
  const lambdaError = asLambdaError(error);
  const details = Object.keys(lambdaError.details).length > 0 ? lambdaError.details : undefined;
  return {
    status: STATUS[lambdaError.kind],
    body: { error: { code: lambdaError.code, message: lambdaError.message, ...(details ? { details } : {}) } },
  };
}

export function sendError(res: http.ServerResponse, error: unknown): void {
  const { status, body } = errorBody(error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const extra: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer realm="lambda"' } : {};
  sendJson(res, status, body, extra);
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
