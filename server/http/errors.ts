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
  too_slow: 408,
  upstream: 502,
  unavailable: 503,
  internal: 500,
};

/** Kinds whose message may carry the server's own internals (engine errors, stack-less bugs). */
const INTERNAL_KINDS = new Set<ErrorKind>(['internal', 'unavailable']);

export interface ErrorAudience {
  /** Anonymous function traffic: no details, and no internal error text. */
  public?: boolean;
}

export function errorBody(error: unknown, audience: ErrorAudience = {}): { status: number; body: { error: { code: string; message: string; details?: unknown } } } {
  const lambdaError = asLambdaError(error);
  const details = !audience.public && Object.keys(lambdaError.details).length > 0 ? lambdaError.details : undefined;
  const message = (audience.public && INTERNAL_KINDS.has(lambdaError.kind) && PUBLIC_MESSAGE[lambdaError.kind]) || lambdaError.message;
  return {
    status: STATUS[lambdaError.kind],
    body: { error: { code: lambdaError.code, message, ...(details ? { details } : {}) } },
  };
}

const PUBLIC_MESSAGE: Partial<Record<ErrorKind, string>> = {
  internal: 'internal error',
  unavailable: 'the function is unavailable right now; try again shortly',
};

/** The status, headers and JSON text of an error answer, for every way the HTTP transport writes one. */
export function errorAnswer(error: unknown, audience: ErrorAudience = {}): { status: number; headers: Record<string, string>; text: string } {
  const { status, body } = errorBody(error, audience);
  const text = JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) };
  if (status === 401) headers['www-authenticate'] = 'Bearer realm="lambda"';
  if (status === 503 || status === 429) headers['retry-after'] = retryAfter(error);
  return { status, headers, text };
}

/** Seconds a client should wait: an error's own `retryAfterSeconds` (a rate limit's refill), else one. */
function retryAfter(error: unknown): string {
  const seconds = asLambdaError(error).details.retryAfterSeconds;
  return typeof seconds === 'number' && Number.isInteger(seconds) && seconds > 0 ? String(seconds) : '1';
}

export function sendError(res: http.ServerResponse, error: unknown, audience: ErrorAudience = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, headers, text } = errorAnswer(error, audience);
  // A request whose body will not be read to its end (stalled, refused for the budget) leaves the connection
  // unusable: close it. A body over the limit is drained instead, so the client reads its 413.
  const closes = res.req && !res.req.complete && status !== 413;
  if (closes) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(text);
  if (closes && res.socket) dropAfter(res.socket, CLOSE_GRACE_MS);
}

/** How long a connection closed after an error answer may take to send that answer before it is dropped. */
export const CLOSE_GRACE_MS = 2000;

/**
 * Node closes the connection once the answer is out. A client that takes not even that (its window full of an earlier
 * answer it never read) would keep it open: it is dropped after `graceMs`, whatever it read.
 */
export function dropAfter(socket: { destroyed: boolean; destroy(): void; once(event: 'close', listener: () => void): unknown }, graceMs: number): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), graceMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
