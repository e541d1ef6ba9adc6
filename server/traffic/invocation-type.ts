// `X-Lambda-Invocation-Type`: `Event` queues the call and answers 202, `RequestResponse` (or none) waits.
import type http from 'node:http';
import { LambdaError } from '../errors.js';

export const INVOCATION_TYPE_HEADER = 'x-lambda-invocation-type';
/** AWS Lambda's limit on an async payload. */
export const MAX_ASYNC_BODY_BYTES = 256 * 1024;

/** True for `Event`; throws LAMBDA_ERR_BAD_REQUEST for a value Lambda does not know. */
export function isAsyncCall(req: http.IncomingMessage): boolean {
  const value = req.headers[INVOCATION_TYPE_HEADER];
  if (value === undefined || value === 'RequestResponse') return false;
  if (value === 'Event') return true;
  throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `${INVOCATION_TYPE_HEADER}: expected Event or RequestResponse, got ${JSON.stringify(String(value).slice(0, 40))}` });
}

/** The 202 of a queued call: the id in the body and in a header, as Lambda's async invoke answers. */
export function sendAccepted(res: http.ServerResponse, invocationId: string): void {
  const text = JSON.stringify({ invocationId, status: 'queued' });
  res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-lambda-invocation-id': invocationId });
  res.end(text);
}
