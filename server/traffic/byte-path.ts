// The gateway's byte path: a function request is read straight off the client's connection, framed once and
// written to an instance connection, and the answer's bytes are relayed back: no HTTP server objects, no HTTP client.
// Each request still takes a lease (concurrency, 429, the timeout and the instance's replacement are dispatch.ts's).
// Any request this path does not take (see http1.ts: a split or unusual head, a large body, the API, git, an async
// call) hands the connection, from that request on, to Node's HTTP server, which answers it as before.
import { STATUS_CODES } from 'node:http';
import type net from 'node:net';
import { LambdaError } from '../errors.js';
import { assertFunctionName } from '../functions/names.js';
import { errorAnswer } from '../http/errors.js';
import { parseRequestHead, type RequestHead, type ResponseHead } from '../http/http1.js';
import { route } from '../http/routes.js';
import { INVOCATION_TYPE_HEADER } from './invocation-type.js';
import type { ClientSide, Dispatch } from '../instances/requests/dispatch.js';
import type { AnswerSink } from '../instances/requests/exchange.js';
import type { FunctionExists } from './node-path.js';
import type { FunctionGuard } from './function-auth.js';
import { forwardedHeaders, forwardsRequestHeader, forwardsResponseHeader } from './header-rules.js';
import { resumeOnDrain } from './send-timeout.js';

/**
 * Bodies up to this size, arrived whole with their head, take the byte path; larger ones get Node's body reader and its
 * budget for all bodies in flight (LAMBDA_BODY_BUDGET). This much is what a socket's read buffer holds on Node's path too.
 */
const MAX_BODY_BYTES = 16 * 1024;
/** Pipelined bytes held while an answer is in flight before the client is paused. */
const MAX_HELD_BYTES = 64 * 1024;

export interface BytePathOptions {
  domain: string;
  dispatch: Pick<Dispatch, 'pipe'>;
  exists: FunctionExists;
  /** `auth: key` functions: the token check, before anything reaches an instance (function-auth.ts). */
  guard?: FunctionGuard;
  /** A connection idle after an answer is closed after this long, as Node's server.keepAliveTimeout. */
  keepAliveTimeoutMs: number;
  /** A new connection that sends nothing is closed after this long, as Node's server.headersTimeout. */
  headersTimeoutMs: number;
  /** A client that takes none of its answer for this long is closed, freeing the instance's slot (send-timeout.ts). */
  sendTimeoutMs: number;
  /** Gives the connection to Node's HTTP server. */
  handOff(socket: net.Socket): void;
}

export interface BytePath {
  accept(socket: net.Socket): void;
  /** The server is stopping: idle connections close now, busy ones after their answer. */
  stop(): void;
  closeIdle(): void;
  closeAll(): void;
}

export function createBytePath(options: BytePathOptions): BytePath {
  const open = new Set<ClientConnection>();
  const gateway = { options, open, stopping: false };
  return {
    accept: (socket) => open.add(new ClientConnection(socket, gateway)),
    stop() {
      gateway.stopping = true;
      this.closeIdle();
    },
    closeIdle() {
      for (const connection of open) connection.closeIfIdle();
    },
    closeAll() {
      for (const connection of open) connection.socket.destroy();
    },
  };
}

interface Gateway {
  options: BytePathOptions;
  open: Set<ClientConnection>;
  stopping: boolean;
}

class ClientConnection implements ClientSide {
  private held: Buffer | undefined;
  private busy = false;
  /** The client ended its side: answer what it sent, then close. */
  private ending = false;
  private gone = false;
  private served = false;
  private goneListener: (() => void) | undefined;
  private readonly onData = (chunk: Buffer) => this.received(chunk);
  private readonly onEnd = () => {
    this.ending = true;
    if (!this.busy) this.next();
  };
  private readonly onClose = () => {
    this.gone = true;
    this.gateway.open.delete(this);
    this.goneListener?.();
  };
  private readonly onTimeout = () => {
    if (!this.busy) this.socket.destroy();
  };

  constructor(
    readonly socket: net.Socket,
    private readonly gateway: Gateway,
  ) {
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('error', noop);
    // Not setTimeout's callback argument: that listens once, and a long request must not use up the idle timeout.
    socket.on('timeout', this.onTimeout);
    socket.setTimeout(gateway.options.headersTimeoutMs);
  }

  onGone(listener: () => void): () => void {
    this.goneListener = listener;
    return () => (this.goneListener = undefined);
  }

  isGone(): boolean {
    return this.gone;
  }

  closeIfIdle(): void {
    if (!this.busy) this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    this.held = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    if (!this.busy) this.next();
    else if (this.held.length > MAX_HELD_BYTES) this.socket.pause();
  }

  /** Serves the next request held, hands the connection to Node's server, or closes it when the client is done. */
  private next(): void {
    const data = this.held;
    if (!data) {
      if (this.ending || this.gateway.stopping) this.socket.end();
      return;
    }
    const head = parseRequestHead(data);
    if (typeof head !== 'object') return this.handOff();
    const size = head.size + head.contentLength;
    if (head.contentLength > MAX_BODY_BYTES || data.length < size) return this.handOff();
    const target = route(head.host, head.target, this.gateway.options.domain);
    // An async call, and a service worker's script (refused on /fn/ paths), are Node's path's to answer.
    if (target.surface !== 'function' || head.headers.some(([name]) => name === INVOCATION_TYPE_HEADER || name === 'service-worker')) return this.handOff();
    this.held = data.length > size ? data.subarray(size) : undefined;
    this.serve(head, target, data.subarray(head.size, size));
  }

  private serve(head: RequestHead, target: { name: string; path: string; prefix: string }, body: Buffer): void {
    if (!this.served) {
      this.served = true;
      this.socket.setTimeout(this.gateway.options.keepAliveTimeoutMs);
    }
    this.busy = true;
    const sink = new ClientSink(this.socket, head.method === 'HEAD', head.close || this.ending || this.gateway.stopping, this.gateway.options.sendTimeoutMs);
    let name: string;
    try {
      name = assertFunctionName(target.name);
      if (!this.gateway.options.exists(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
    } catch (error) {
      this.answered(sink, error);
      return;
    }
    const client = this.socket.remoteAddress ?? '127.0.0.1';
    const authorization = head.headers.find(([field]) => field === 'authorization')?.[1];
    const checked = this.gateway.options.guard?.(name, authorization, client);
    if (checked === undefined) return this.send(name, frameRequest(head, target, body.length, client, false), body, sink, true);
    // The platform's token went to the gateway, not to the function: the instance never sees it.
    checked.then(
      () => (this.gone ? this.answered(sink) : this.send(name, frameRequest(head, target, body.length, client, true), body, sink, false)),
      (error: unknown) => this.answered(sink, error),
    );
  }

  private send(name: string, framed: string, body: Buffer, sink: ClientSink, keyless: boolean): void {
    this.gateway.options.dispatch.pipe(name, { head: framed, body, noBody: sink.noBody, keyless }, sink, this).then(
      () => this.answered(sink),
      (error: unknown) => this.answered(sink, error),
    );
  }

  private answered(sink: ClientSink, error?: unknown): void {
    this.busy = false;
    if (this.gone) return;
    if (error !== undefined) {
      // Part of the answer is out: the client can only learn of the failure by the connection closing.
      if (sink.started) {
        this.socket.destroy();
        return;
      }
      sink.error(error);
    }
    if (sink.closes) {
      this.socket.end();
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    this.next();
  }

  private handOff(): void {
    // After the client's end Node's server could not take the connection (its data cannot be put back): close it.
    if (this.ending) {
      this.socket.destroy();
      return;
    }
    this.gateway.open.delete(this);
    const socket = this.socket;
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onClose);
    socket.off('error', noop);
    socket.setTimeout(0);
    socket.off('timeout', this.onTimeout);
    socket.pause();
    if (this.held) socket.unshift(this.held);
    this.held = undefined;
    this.gateway.options.handOff(socket);
    process.nextTick(() => socket.resume());
  }
}

/** Writes one answer to the client: the head rebuilt from the instance's (hop-by-hop and internal headers dropped), the body's bytes as they come. */
class ClientSink implements AnswerSink {
  started = false;
  /** The head, held until the first body bytes of the same read, so that both leave in one write. */
  private pending: string | undefined;

  constructor(
    private readonly socket: net.Socket,
    readonly noBody: boolean,
    public closes: boolean,
    private readonly sendTimeoutMs: number,
  ) {}

  head(response: ResponseHead): void {
    this.started = true;
    if (response.framing === 'close') this.closes = true;
    let text = `HTTP/1.1 ${response.statusCode} ${STATUS_CODES[response.statusCode] ?? 'Unknown'}\r\n`;
    for (const [name, value] of response.headers) if (forwardsResponseHeader(name)) text += `${name}: ${value}\r\n`;
    if (response.framing === 'chunked') text += 'transfer-encoding: chunked\r\n';
    if (this.closes) text += 'connection: close\r\n';
    this.pending = `${text}\r\n`;
  }

  body(chunk: Buffer): boolean {
    const head = this.pending;
    if (head === undefined) return this.socket.write(chunk);
    this.pending = undefined;
    const size = Buffer.byteLength(head, 'latin1');
    const whole = Buffer.allocUnsafe(size + chunk.length);
    whole.write(head, 0, 'latin1');
    chunk.copy(whole, size);
    return this.socket.write(whole);
  }

  /** A client that takes nothing for the send timeout is closed: the exchange then ends as for a client that left. */
  onDrain(resume: () => void): void {
    resumeOnDrain(this.socket, this.sendTimeoutMs, resume);
  }

  flush(): void {
    if (this.pending === undefined) return;
    this.socket.write(this.pending, 'latin1');
    this.pending = undefined;
  }

  /** An answer of the gateway's own: the error catalogue's status and JSON body. */
  error(error: unknown): void {
    const { status, headers, text } = errorAnswer(error, { public: true });
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ndate: ${new Date().toUTCString()}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    if (this.closes) head += 'connection: close\r\n';
    this.socket.write(`${head}\r\n${this.noBody ? '' : text}`);
  }
}

/**
 * The request head the instance gets: the client's headers that pass (header-rules.ts), the gateway's x-forwarded-*,
 * the body's length; without Authorization when it carried the platform's token (`auth: key`).
 */
function frameRequest(head: RequestHead, target: { path: string; prefix: string }, length: number, client: string, dropAuthorization: boolean): string {
  let text = `${head.method} ${target.path} HTTP/1.1\r\n`;
  let prior: string | undefined;
  for (const [name, value] of head.headers) {
    if (name === 'x-forwarded-for') prior = prior === undefined ? value : `${prior}, ${value}`;
    else if (forwardsRequestHeader(name) && !(dropAuthorization && name === 'authorization')) text += `${name}: ${value}\r\n`;
  }
  for (const [name, value] of forwardedHeaders(prior, client, head.host, target.prefix)) text += `${name}: ${value}\r\n`;
  if (length > 0) text += `content-length: ${length}\r\n`;
  return `${text}\r\n`;
}

function noop(): void {}
