// Function traffic: sends a public HTTP request to the function's live instance and streams its answer back.
import type http from 'node:http';
import type net from 'node:net';
import { LambdaError } from '../errors.js';
import { assertFunctionName } from '../functions/names.js';
import type { ClientSide, Dispatch } from '../instances/requests/dispatch.js';
import { forwardedHeaders, forwardsRequestHeader, forwardsResponseHeader } from './header-rules.js';
import type { ReadBody } from '../http/body.js';
import { sendError } from '../http/errors.js';
import { MAX_ASYNC_BODY_BYTES, isAsyncCall, sendAccepted } from './invocation-type.js';
import type { QueuedHttpRequest } from '../queue/invocations.js';
import type { FunctionGuard } from './function-auth.js';
import { SendWatch } from './send-timeout.js';

/** AWS Lambda's synchronous payload limit. */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;

export interface ForwardTarget {
  name: string;
  path: string;
  prefix: string;
}

export type FunctionExists = (name: string) => boolean;

/** Queues a public request for the async workers; returns its invocation id. */
export type EnqueueHttp = (name: string, request: QueuedHttpRequest) => { invocationId: string };

/**
 * `guard`: the `auth: key` check (function-auth.ts), made before the body is read, queued or sent anywhere.
 * `sendTimeoutMs`: a client that takes none of its answer for this long is closed (LAMBDA_SEND_TIMEOUT, send-timeout.ts).
 */
export function createForwarder(dispatch: Dispatch, exists: FunctionExists, readBody: ReadBody, maxBody = MAX_BODY_BYTES, enqueue?: EnqueueHttp, guard?: FunctionGuard, sendTimeoutMs = 10_000) {
  // undici writes the answer into the response, so what its connection has not sent yet is watched from outside.
  const sendWatch = new SendWatch(sendTimeoutMs);
  return async (req: http.IncomingMessage, res: http.ServerResponse, target: ForwardTarget): Promise<void> => {
    try {
      const name = assertFunctionName(target.name);
      if (!exists(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
      const checked = guard?.(name, req.headers.authorization, req.socket.remoteAddress);
      if (checked) {
        await checked;
        // The platform's token is the gateway's, not the function's to reuse (nor to be kept with a queued call).
        delete req.headers.authorization;
      }
      // `OPTIONS *` and absolute-form targets address a server, not a function's path.
      if (!target.path.startsWith('/')) throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: 'the request target must be a path starting with "/"' });
      // `X-Lambda-Invocation-Type: Event`: kept durably and answered 202; a worker sends it to the function later.
      if (enqueue && isAsyncCall(req)) {
        const queued = await readBody(req, Math.min(maxBody, MAX_ASYNC_BODY_BYTES));
        const headers = forwardHeaders(req, target.prefix, queued.length);
        delete headers['x-lambda-invocation-type'];
        const { invocationId } = enqueue(name, { method: req.method ?? 'GET', path: target.path, headers, body: queued.toString('base64'), keyed: checked !== undefined });
        sendAccepted(res, invocationId);
        return;
      }
      // Held against the body budget until the answer is sent: a flood of large bodies queued for a busy function
      // is refused with 503 rather than kept in memory.
      const body = await readBody(req, maxBody, res);
      await dispatch.stream(
        name,
        { method: req.method ?? 'GET', path: target.path, headers: forwardHeaders(req, target.prefix, body.length), body: body.length > 0 ? body : undefined, keyless: !checked },
        (statusCode, upstream) => {
          const headers: Record<string, string | string[]> = {};
          for (const key in upstream) {
            const value = upstream[key];
            if (value !== undefined && forwardsResponseHeader(key)) headers[key] = value;
          }
          res.writeHead(statusCode, headers);
          // The connection, even for an answer queued behind another's (pipelined): it is the one the client must read.
          sendWatch.watch(res.socket ?? req.socket, res);
          return res;
        },
        clientSide(res, req.socket),
      );
    } catch (error) {
      sendError(res, error, { public: true });
    }
  };
}

/** Tells the dispatcher when the client went away before its answer was written, so the instance is not blamed. */
function clientSide(res: http.ServerResponse, connection: net.Socket): ClientSide {
  const left = () => !res.writableFinished;
  return {
    // The response's own 'close' event: no emitter of its own per request on this hot path. And the connection's:
    // an answer queued behind another's (pipelined) has no socket yet, and Node does not close it with the connection.
    onGone(listener) {
      const onClose = () => {
        if (left()) listener();
      };
      res.once('close', onClose);
      if (!res.socket) connection.once('close', onClose);
      return () => {
        res.off('close', onClose);
        connection.off('close', onClose);
      };
    },
    isGone: () => left() && (res.destroyed || connection.destroyed),
  };
}

function forwardHeaders(req: http.IncomingMessage, prefix: string, length: number): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined && forwardsRequestHeader(key) && key !== 'x-forwarded-for') headers[key] = value;
  }
  const prior = req.headers['x-forwarded-for'];
  for (const [key, value] of forwardedHeaders(prior === undefined ? undefined : String(prior), req.socket.remoteAddress ?? '127.0.0.1', req.headers.host ?? '', prefix)) {
    headers[key] = value;
  }
  if (length > 0) headers['content-length'] = String(length);
  return headers;
}
