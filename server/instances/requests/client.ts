// HTTP clients to instances: one keep-alive connection pool per instance, over connections the shim dialled in.
import { createHmac, randomBytes } from 'node:crypto';
import type { AbortEmitter } from './abort.js';
import { Pool, errors, type Dispatcher } from 'undici';
import type { Writable } from 'node:stream';
import { INVOKE_HEADER, SECRET_HEADER } from '../protocol.js';
import { InstanceLink } from '../link.js';
import { InstanceExchanges, type AnswerSink, type RawRequest } from './exchange.js';
import type { Instance } from '../engine.js';
import { InstanceFailure, socketFailure } from './failure.js';
import { readCapped } from './answer-cap.js';

type Target = Pick<Instance, 'id' | 'socketPath'>;

/**
 * undici's errors that mean the instance's connection failed, as an InstanceFailure: its socket closed or broke
 * (SocketError), or the instance's pool was closed or destroyed under the request (the instance was stopped). Any
 * other error (a request undici cannot send, an abort) is returned unchanged.
 */
export function undiciFailure(error: unknown): unknown {
  if (error instanceof errors.SocketError) return new InstanceFailure('dropped', error.message, { cause: error });
  if (error instanceof errors.ClientClosedError || error instanceof errors.ClientDestroyedError) return new InstanceFailure('dropped', error.message, { cause: error });
  return socketFailure(error);
}

/** An answer whose head has arrived; `text(limit)` reads its body, up to `limit` bytes (answer-cap.ts). */
export interface TextAnswer {
  statusCode: number;
  headers: Dispatcher.ResponseData['headers'];
  text(limit: number): Promise<string>;
}

function rethrow(error: unknown): never {
  throw undiciFailure(error);
}

export class InstanceClients {
  private readonly pools = new Map<string, Pool>();
  private readonly links = new Map<string, InstanceLink>();
  private readonly exchanges = new InstanceExchanges();

  /**
   * `key` derives each instance's secret from its id, so an instance adopted after a restart is still recognised:
   * the server keeps it in its data directory (server/config/data-dir.ts); tests may let it be random.
   */
  constructor(private readonly key: Buffer = randomBytes(32)) {}

  /** The secret instance `id` boots with; only the host's internal calls to it carry it. */
  secretOf(id: string): string {
    return createHmac('sha256', this.key).update(id).digest('hex');
  }

  /** Headers marking an internal call of `mode` (health, direct, warm, init) to the instance. */
  internal(id: string, mode: string): Record<string, string> {
    return { [INVOKE_HEADER]: mode, [SECRET_HEADER]: this.secretOf(id) };
  }

  /** The host end of the instance's socket: created (listening) on first use, for a new or an adopted instance. */
  link(instance: Target): InstanceLink {
    let link = this.links.get(instance.id);
    if (!link) {
      link = new InstanceLink(instance.socketPath);
      this.links.set(instance.id, link);
    }
    return link;
  }

  get(instance: Target): Pool {
    let pool = this.pools.get(instance.id);
    if (!pool) {
      const link = this.link(instance);
      // Timeouts are the dispatcher's job (per function), so undici's own are off.
      pool = new Pool('http://instance', {
        connections: 64,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        headersTimeout: 0,
        bodyTimeout: 0,
        connect: (_options, callback) => {
          link.take().then(
            (socket) => callback(null, socket),
            (error: Error) => callback(error, null),
          );
        },
      });
      this.pools.set(instance.id, pool);
    }
    return pool;
  }

  /**
   * One request through the instance's undici pool; its connection's failures, during the head or the body, as
   * InstanceFailure, and a body past the reader's limit as one of kind `oversized`.
   */
  async request(instance: Target, options: Dispatcher.RequestOptions): Promise<TextAnswer> {
    const response = await this.get(instance).request(options).catch(rethrow);
    return {
      statusCode: response.statusCode,
      headers: response.headers,
      text: (limit) => readCapped(response.body, limit).then((bytes) => bytes.toString('utf8'), rethrow),
    };
  }

  /** One request whose answer streams into the writable `open` returns, its connection failures as InstanceFailure. */
  async stream(instance: Target, options: Dispatcher.RequestOptions, open: (data: Dispatcher.StreamFactoryData) => Writable): Promise<void> {
    // When the instance's connection breaks mid-answer undici destroys the writable with that error, then rejects with
    // only the writable's premature close, which reads as a client that left: keep the cause, so the instance is blamed.
    let cause: unknown;
    const opened = (data: Dispatcher.StreamFactoryData): Writable => {
      const writable = open(data);
      const destroy = writable.destroy.bind(writable);
      writable.destroy = (error?: Error) => {
        cause ??= error;
        return destroy(error);
      };
      return writable;
    };
    await this.get(instance)
      .stream(options, opened)
      .catch((error: unknown) => rethrow(cause ?? error));
  }

  /** One raw exchange on the gateway's byte path (exchange.ts); shares the instance's dialled-in connections. */
  exchange(instance: Target, request: RawRequest, sink: AnswerSink, signal: AbortEmitter, answered: (statusCode: number) => void): Promise<void> {
    return this.exchanges.exchange(instance.id, this.link(instance), request, sink, signal, answered);
  }

  /** One health request: true when the shim dials in within `timeoutMs` and answers 200. */
  async healthy(instance: Target, timeoutMs = 2000): Promise<boolean> {
    try {
      if (!(await this.link(instance).ready(timeoutMs))) return false;
      const response = await this.get(instance).request({
        path: '/',
        method: 'GET',
        headers: this.internal(instance.id, 'health'),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body.dump();
      return response.statusCode === 200;
    } catch {
      return false;
    }
  }

  /** The instance's process is gone: requests waiting for a connection fail at once instead of timing out. */
  gone(instanceId: string, reason: string): void {
    this.links.get(instanceId)?.fail(reason);
    this.exchanges.gone(instanceId);
  }

  /** Lets in-flight requests finish, then closes the connections and the socket. */
  async drain(instanceId: string): Promise<void> {
    const pool = this.pools.get(instanceId);
    this.pools.delete(instanceId);
    await Promise.all([pool?.close().catch(() => {}), this.exchanges.drain(instanceId)]);
    this.closeLink(instanceId);
  }

  /** Drops the connections at once, failing in-flight requests (a hung instance). */
  async destroy(instanceId: string): Promise<void> {
    const pool = this.pools.get(instanceId);
    this.pools.delete(instanceId);
    this.closeLink(instanceId);
    this.exchanges.destroy(instanceId);
    await pool?.destroy().catch(() => {});
  }

  private closeLink(instanceId: string): void {
    this.links.get(instanceId)?.close();
    this.links.delete(instanceId);
  }
}
