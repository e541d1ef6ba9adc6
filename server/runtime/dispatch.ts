// Sends one request to a function's live instance with its timeout; a timeout or a dead instance recycles it.
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { LambdaError } from '../errors.js';
import type { InstanceClients } from './instance-client.js';
import type { InstancePool } from './pool.js';

export interface DispatchRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
}

export interface DispatchResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Readable & { text(): Promise<string> };
}

export type Dispatch = (fn: string, request: DispatchRequest) => Promise<DispatchResponse>;

export function createDispatch(pool: InstancePool, clients: InstanceClients): Dispatch {
  return async (fn, request) => {
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
      const response = await clients.get(instance).request({
        method: request.method as 'GET',
        path: request.path,
        headers: request.headers,
        body: request.body,
        signal,
      });
      return { statusCode: response.statusCode, headers: response.headers as IncomingHttpHeaders, body: response.body };
    } catch (error) {
      pool.recycle(fn, instance);
      if (timedOut) {
        throw new LambdaError('LAMBDA_ERR_FUNCTION_TIMEOUT', { name: fn, timeout: `${timeoutMs} ms` });
      }
      throw new LambdaError('LAMBDA_ERR_FUNCTION_CRASHED', { name: fn }, { cause: String(error) });
    } finally {
      clearTimeout(timer);
    }
  };
}
