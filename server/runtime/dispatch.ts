// Sends one request to a function's live instance with its timeout; a timeout or a dead instance recycles it.
import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import type { Pool } from 'undici';
import { LambdaError } from '../errors.js';
import type { InstanceClients } from './instance-client.js';
import type { InstancePool } from './pool.js';

export interface DispatchRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
}

export interface BufferedResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Called once the instance's status and headers arrive; returns where its body goes. */
export type OpenResponse = (statusCode: number, headers: IncomingHttpHeaders) => Writable;

export interface Dispatch {
  /** The whole answer in memory (direct invokes). */
  request(fn: string, request: DispatchRequest): Promise<BufferedResponse>;
  /** The answer streamed into the writable `open` returns (function traffic; undici's fastest path). */
  stream(fn: string, request: DispatchRequest, open: OpenResponse): Promise<void>;
}

/** Throws LAMBDA_ERR_NOT_DEPLOYED, LAMBDA_ERR_INSTANCE_START_FAILED, LAMBDA_ERR_FUNCTION_TIMEOUT, LAMBDA_ERR_FUNCTION_CRASHED. */
export function createDispatch(pool: InstancePool, clients: InstanceClients): Dispatch {
  const withInstance = async <T>(fn: string, send: (client: Pool, signal: EventEmitter) => Promise<T>, retried = false): Promise<T> => {
    const instance = await pool.acquire(fn);
    const timeoutMs = pool.spec(fn)?.timeoutMs ?? 10_000;
    // undici accepts an EventEmitter as its abort signal; an AbortController per request costs more on this hot path.
    const signal = new EventEmitter();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      signal.emit('abort');
    }, timeoutMs);
    try {
      return await send(clients.get(instance), signal);
    } catch (error) {
      pool.recycle(fn, instance);
      if (timedOut) throw new LambdaError('LAMBDA_ERR_FUNCTION_TIMEOUT', { name: fn, timeout: `${timeoutMs} ms` });
      // The instance died while idle (killed, OOM): the request never reached a handler, so a fresh instance may take it.
      if (!retried && neverDelivered(error)) return withInstance(fn, send, true);
      throw new LambdaError('LAMBDA_ERR_FUNCTION_CRASHED', { name: fn }, { cause: String(error) });
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    request: (fn, request) =>
      withInstance(fn, async (client, signal) => {
        const response = await client.request({ ...request, method: request.method as 'POST', signal });
        return { statusCode: response.statusCode, headers: response.headers as IncomingHttpHeaders, body: await response.body.text() };
      }),
    stream: (fn, request, open) =>
      withInstance(fn, async (client, signal) => {
        await client.stream({ ...request, method: request.method as 'GET', signal }, ({ statusCode, headers }) =>
          open(statusCode, headers as IncomingHttpHeaders),
        );
      }),
  };
}

function neverDelivered(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'ECONNREFUSED' || code === 'ENOENT';
}
