// Sends one request to a function's live instance with its timeout. Only a failure of the instance itself
// (its handler's timeout, its process gone, its connection dropped) replaces it; a problem of one client or
// one request (a hang-up, a slow reader, a request undici cannot send) ends that request only.
import { AbortEmitter } from './abort.js';
import type { Writable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { LambdaError } from '../../errors.js';
import type { InstanceClients } from './client.js';
import type { AnswerSink, RawRequest } from './exchange.js';
import { InstanceFailure } from './failure.js';
import { MAX_HELD_ANSWER_BYTES, capText } from './answer-cap.js';
import type { InstancePool } from '../pool/pool.js';
import type { Instance } from '../engine.js';
import { ERROR_HEADER, SECRET_HEADER } from '../protocol.js';
import { NO_METRICS, type ErrorKind, type Metrics, type Trigger } from '../../metrics/types.js';

export interface DispatchRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
  /** Public traffic whose key was not checked (its function was `auth: none` when its head arrived). */
  keyless?: boolean;
  /** How the invocation came, for metrics: `request` defaults to `direct`, `stream` to `http`. */
  trigger?: Trigger;
}

export interface BufferedResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Called once the instance's status and headers arrive; returns where its body goes. */
export type OpenResponse = (statusCode: number, headers: IncomingHttpHeaders) => Writable;

/** The caller's side of a request: lets the dispatcher tell a client that left from an instance that failed. */
export interface ClientSide {
  /** Calls `listener` once if the client goes before its answer is written (the request is then abandoned); returns how to stop listening. */
  onGone(listener: () => void): () => void;
  isGone(): boolean;
}

export interface Dispatch {
  /**
   * The whole answer in memory, up to MAX_HELD_ANSWER_BYTES, within the function's timeout: the host's direct
   * invokes, sent as internal calls (with the instance's secret).
   */
  request(fn: string, request: DispatchRequest): Promise<BufferedResponse>;
  /** The answer streamed into the writable `open` returns: public function traffic, never marked internal. */
  stream(fn: string, request: DispatchRequest, open: OpenResponse, client?: ClientSide): Promise<void>;
  /** Public function traffic on the gateway's byte path: a request it framed itself, the answer relayed as bytes. */
  pipe(fn: string, request: RawRequest, sink: AnswerSink, client: ClientSide): Promise<void>;
}

/** `handlerAnswered`: the answer's head arrived; `failed` when it says the handler failed (see handlerFailed). */
type Send<T> = (instance: Instance, signal: AbortEmitter, handlerAnswered: (failed: boolean) => void) => Promise<T>;

interface SendOptions {
  client?: ClientSide;
  keyless?: boolean;
  wholeAnswer?: boolean;
  trigger: Trigger;
}

/**
 * Whether an answer is a handler error, for metrics: the shim's error header (a host call whose handler threw), or a
 * status of 500 and up from the function, as API Gateway counts a 5XXError: on public traffic the function's own
 * answer is all the host sees.
 */
const handlerFailed = (statusCode: number, errorHeader: unknown): boolean => statusCode >= 500 || errorHeader !== undefined;

/**
 * Throws LAMBDA_ERR_NOT_DEPLOYED, LAMBDA_ERR_INSTANCE_START_FAILED, LAMBDA_ERR_TOO_MANY_REQUESTS, LAMBDA_ERR_FUNCTION_TIMEOUT, LAMBDA_ERR_FUNCTION_CRASHED,
 * LAMBDA_ERR_RESPONSE_TOO_LARGE (an answer held in memory past MAX_HELD_ANSWER_BYTES), and LAMBDA_ERR_BAD_REQUEST for a request that cannot be sent to an instance at all.
 */
/**
 * `onSend` hears of each request as it goes to an instance: the log sockets let an instance log one START (then END
 * and REPORT) per request it was sent (server/instances/log-socket.ts).
 */
export function createDispatch(pool: InstancePool, clients: InstanceClients, onSend?: (instanceId: string) => void, metrics: Metrics = NO_METRICS): Dispatch {
  /** A 429 from the pool is a throttle of the version it would have run. */
  const acquire = async (fn: string, trigger: Trigger) => {
    try {
      return await pool.acquire(fn);
    } catch (error) {
      const version = pool.spec(fn)?.version;
      if (version !== undefined && error instanceof LambdaError && error.code === 'LAMBDA_ERR_TOO_MANY_REQUESTS') metrics.throttle(fn, version, trigger);
      throw error;
    }
  };

  /**
   * `wholeAnswer`: the answer is read into memory before anyone sees it, so the timeout runs until its body ends.
   * Each invocation that reached an instance is counted once, timed by the host from its send to its answer's head
   * (or to its failure), with how it ended.
   */
  const withInstance = async <T>(fn: string, send: Send<T>, options: SendOptions, retried = false): Promise<T> => {
    const { client, keyless = false, wholeAnswer = false, trigger } = options;
    const lease = await acquire(fn, trigger);
    // The key was checked (or not) when the head arrived; a body that came slowly may find a version that wants one.
    if (keyless && lease.spec.auth === 'key') {
      lease.release();
      throw new LambdaError('LAMBDA_ERR_FUNCTION_KEY_REQUIRED', { name: fn });
    }
    const instance = lease.instance;
    const timeoutMs = lease.spec.timeoutMs;
    const signal = new AbortEmitter();
    let timedOut = false;
    // The timeout covers the handler: on the public paths it stops once the answer's headers arrive, not when a slow
    // client has read it all (the send timeout watches that client); an answer held in memory has no client to wait
    // for, so there it also covers the body, which a function could otherwise drip forever.
    const timer = setTimeout(() => {
      timedOut = true;
      signal.abort();
    }, timeoutMs);
    const stopListening = client?.onGone(() => signal.abort());
    // Gone while it waited for the instance (a pipelined request whose connection closed): no one would read its answer.
    if (client?.isGone()) signal.abort();
    let answered = false;
    let sentAt = Date.now();
    let sent = false;
    // Set once the invocation is over for metrics: its duration's end and how it ended. The head's verdict stands
    // unless the instance then failed (`overrule`).
    let endedAt = 0;
    let outcome: ErrorKind | undefined;
    const end = (kind?: ErrorKind, overrule = false) => {
      if (endedAt !== 0 && !overrule) return;
      endedAt = performance.now();
      outcome = kind;
    };
    let startedAt = 0;
    try {
      await lease.ready;
      sentAt = Date.now();
      startedAt = performance.now();
      sent = true;
      onSend?.(instance.id);
      return await send(instance, signal, (failed) => {
        answered = true;
        end(failed ? 'handler' : undefined);
        if (!wholeAnswer) clearTimeout(timer);
      });
    } catch (error) {
      if (timedOut) {
        // A host call's body that outran the timer after its head is a timeout too.
        end('timeout', true);
        pool.recycle(fn, instance, `did not answer within ${timeoutMs} ms`);
        throw new LambdaError('LAMBDA_ERR_FUNCTION_TIMEOUT', { name: fn, timeout: `${timeoutMs} ms` });
      }
      // A client that left ends its request only. An instance failure stands even when the client looks gone: on
      // Node's path undici destroys the answer it was writing when the instance's connection breaks, which reads as
      // the client leaving, and the dead instance would stay in the pool for the next request to find.
      if (client?.isGone() && !(error instanceof InstanceFailure)) {
        end();
        throw error;
      }
      // Both ways of reaching an instance report its own failures as InstanceFailure; anything else is this request's.
      if (!(error instanceof InstanceFailure)) {
        // Never sent to a handler: not an invocation.
        sent = false;
        throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `the request cannot be sent to the function: ${(error as Error).message}` });
      }
      // Whatever the head said, the instance failed this invocation.
      end('crash', true);
      if (error.kind === 'oversized') {
        // Its handler is still writing: the instance is as good as hung.
        pool.recycle(fn, instance, `answered with more than ${capText(MAX_HELD_ANSWER_BYTES)}`);
        throw new LambdaError('LAMBDA_ERR_RESPONSE_TOO_LARGE', { name: fn, limit: capText(MAX_HELD_ANSWER_BYTES) });
      }
      if (error.kind === 'malformed') {
        pool.recycle(fn, instance, 'sent an answer that is not well-framed HTTP');
        throw new LambdaError('LAMBDA_ERR_FUNCTION_CRASHED', { name: fn });
      }
      // The engine's exit report (status, OOM kill) says why in the log.
      pool.recycle(fn, instance);
      // The instance died while idle (killed, OOM; or killed while frozen, which its thaw reports): the request never
      // reached a handler, so a fresh instance may take it. A connection dropped by a handler that crashed is not
      // retried: running it again would crash another instance.
      // A kept-alive connection to an instance killed while idle fails like a crash: the engine's record of when the
      // process ended tells them apart.
      const neverDelivered = error.kind === 'unreachable' || (!answered && (await pool.endedBefore(instance, sentAt)));
      if (!retried && !answered && neverDelivered) {
        // Never reached a handler: the retry is the invocation, and this one is not counted.
        sent = false;
        return withInstance(fn, send, options, true);
      }
      throw new LambdaError('LAMBDA_ERR_FUNCTION_CRASHED', { name: fn });
    } finally {
      clearTimeout(timer);
      stopListening?.();
      lease.release();
      if (sent) {
        if (endedAt === 0) end();
        metrics.invocation({
          fn,
          version: lease.spec.version,
          trigger,
          at: sentAt,
          durationMs: endedAt - startedAt,
          error: outcome,
          coldStartMs: lease.coldStartMs,
        });
      }
    }
  };

  return {
    request: (fn, { keyless, trigger = 'direct', ...request }) =>
      withInstance(
        fn,
        async (instance, signal, answered) => {
          const headers = { ...request.headers, [SECRET_HEADER]: clients.secretOf(instance.id) };
          const response = await clients.request(instance, { ...request, headers, method: request.method as 'POST', signal });
          answered(handlerFailed(response.statusCode, response.headers[ERROR_HEADER]));
          return { statusCode: response.statusCode, headers: response.headers as IncomingHttpHeaders, body: await response.text(MAX_HELD_ANSWER_BYTES) };
        },
        { keyless, wholeAnswer: true, trigger },
      ),
    stream: (fn, { keyless, trigger = 'http', ...request }, open, side) =>
      withInstance(
        fn,
        async (instance, signal, answered) => {
          await clients.stream(instance, { ...request, method: request.method as 'GET', signal }, ({ statusCode, headers }) => {
            answered(handlerFailed(statusCode, undefined));
            return open(statusCode, headers as IncomingHttpHeaders);
          });
        },
        { client: side, keyless, trigger },
      ),
    pipe: (fn, request, sink, side) =>
      withInstance(fn, (instance, signal, answered) => clients.exchange(instance, request, sink, signal, (statusCode) => answered(handlerFailed(statusCode, undefined))), {
        client: side,
        keyless: request.keyless,
        trigger: 'http',
      }),
  };
}
