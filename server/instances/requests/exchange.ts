// Raw HTTP/1.1 exchanges with instances, for the gateway's byte path: the request is written as the gateway framed it,
// and the answer's bytes are relayed as they arrive, with only its head parsed and its end found. No HTTP client in
// between. Connections are the ones the shim dialled in (link.ts), kept alive between requests per instance.
import type net from 'node:net';
import type { AbortEmitter } from './abort.js';
import { ChunkedScanner, parseResponseHead, type ResponseHead } from '../../http/http1.js';
import type { InstanceLink } from '../link.js';
import { InstanceFailure, socketFailure } from './failure.js';

/** An idle connection older than this is not reused: the shim closes idle ones after 60 s, and a race would look like a crash. */
const REUSE_WITHIN_MS = 30_000;

export interface RawRequest {
  /** The request head as the gateway framed it, blank line included, in latin1. */
  head: string;
  body?: Buffer;
  /** A HEAD request: its answer has no body whatever its headers say. */
  noBody: boolean;
  /** Its key was not checked: refused if the version it reaches has `auth: key` (see dispatch.ts). */
  keyless?: boolean;
}

/** Where an answer goes as it arrives. */
export interface AnswerSink {
  /** The answer's status and headers, once, before any body. */
  head(response: ResponseHead): void;
  /** Body bytes as the instance framed them (a chunked body stays chunked). False: wait for `onDrain` before more. */
  body(chunk: Buffer): boolean;
  onDrain(resume: () => void): void;
  /** The end of one read's writes (the sink may have corked them). */
  flush(): void;
}

interface Exchange {
  data(chunk: Buffer): void;
  end(): void;
  fail(error: Error): void;
}

class Connection {
  current: Exchange | undefined;
  usedAt = 0;

  constructor(
    readonly socket: net.Socket,
    onIdleGone: (connection: Connection) => void,
  ) {
    socket.on('data', (chunk: Buffer) => (this.current ? this.current.data(chunk) : socket.destroy()));
    socket.on('end', () => (this.current ? this.current.end() : socket.destroy()));
    socket.on('error', (error: Error) => this.current?.fail(socketFailure(error) as Error));
    socket.on('close', () => {
      if (this.current) this.current.fail(new InstanceFailure('dropped', 'the instance closed the connection'));
      else onIdleGone(this);
    });
  }
}

interface Entry {
  link: InstanceLink;
  idle: Connection[];
  busy: Set<Connection>;
  draining?: () => void;
  closed: boolean;
}

/** The request was abandoned (its client left, or its timeout passed): dispatch.ts knows which, from its own state. */
function abandoned(): Error {
  return Object.assign(new Error('the request was abandoned'), { code: 'ABORT_ERR' });
}

export class InstanceExchanges {
  private readonly entries = new Map<string, Entry>();

  /**
   * Sends `request` to the instance and relays its answer into `sink`; resolves when the answer has ended. `answered` is
   * called with its status when the head arrives; an 'abort' on `signal` drops the connection. Rejects with an InstanceFailure when the
   * instance failed (gone, the connection broken or closed too early, a malformed answer), or with ABORT_ERR.
   */
  async exchange(instanceId: string, link: InstanceLink, request: RawRequest, sink: AnswerSink, signal: AbortEmitter, answered: (statusCode: number) => void): Promise<void> {
    let entry = this.entries.get(instanceId);
    if (!entry) {
      entry = { link, idle: [], busy: new Set(), closed: false };
      this.entries.set(instanceId, entry);
    }
    const connection = await this.take(entry);
    if (signal.aborted) {
      this.settle(entry, connection, true);
      throw abandoned();
    }
    entry.busy.add(connection);
    return new Promise<void>((resolve, reject) => {
      const socket = connection.socket;
      let pending: Buffer | undefined;
      let response: ResponseHead | undefined;
      let remaining = 0;
      let scanner: ChunkedScanner | undefined;
      const onAbort = () => finish(abandoned());
      const finish = (error?: Error, reusable = false) => {
        if (connection.current !== exchange) return;
        connection.current = undefined;
        signal.off('abort', onAbort);
        this.settle(entry, connection, !error && reusable);
        if (error) reject(error);
        else resolve();
      };
      const relay = (chunk: Buffer): void => {
        if (!response) {
          pending = pending ? Buffer.concat([pending, chunk]) : chunk;
          let parsed = parseResponseHead(pending, request.noBody);
          // Informational answers (100, 103) come before the real one and are not relayed.
          while (typeof parsed === 'object' && parsed.statusCode < 200 && parsed.statusCode !== 101) {
            pending = pending.subarray(parsed.size);
            parsed = parseResponseHead(pending, request.noBody);
          }
          if (parsed === 'incomplete') return;
          if (parsed === 'invalid' || parsed.statusCode === 101) return finish(new InstanceFailure('malformed', 'the instance sent a malformed answer'));
          response = parsed;
          chunk = pending.subarray(parsed.size);
          pending = undefined;
          answered(parsed.statusCode);
          sink.head(parsed);
          if (parsed.framing === 'chunked') scanner = new ChunkedScanner();
          else if (typeof parsed.framing === 'number') remaining = parsed.framing;
        }
        let ended = false;
        let extra = false;
        if (scanner) {
          const taken = scanner.feed(chunk);
          if (taken < 0) return finish(new InstanceFailure('malformed', 'the instance sent a malformed chunked body'));
          extra = taken < chunk.length;
          chunk = chunk.subarray(0, taken);
          ended = scanner.done;
        } else if (response.framing !== 'close') {
          extra = chunk.length > remaining;
          if (extra) chunk = chunk.subarray(0, remaining);
          remaining -= chunk.length;
          ended = remaining === 0;
        }
        if (chunk.length > 0 && !sink.body(chunk) && !ended) {
          socket.pause();
          sink.onDrain(() => socket.resume());
        }
        sink.flush();
        // Bytes past the answer's end were never asked for: the connection is not reused.
        if (ended) finish(undefined, !extra && !response.close);
      };
      const exchange: Exchange = {
        data: relay,
        end: () => (response?.framing === 'close' ? finish(undefined, false) : finish(new InstanceFailure('dropped', 'the instance closed the connection before its answer ended'))),
        fail: (error) => finish(error),
      };
      connection.current = exchange;
      signal.once('abort', onAbort);
      socket.cork();
      socket.write(request.head, 'latin1');
      if (request.body && request.body.length > 0) socket.write(request.body);
      socket.uncork();
    });
  }

  /** The instance's process is gone: its idle connections with it. */
  gone(instanceId: string): void {
    const entry = this.entries.get(instanceId);
    for (const connection of entry?.idle.splice(0) ?? []) connection.socket.destroy();
  }

  /** Waits for the answers in flight, then closes every connection. */
  async drain(instanceId: string): Promise<void> {
    const entry = this.entries.get(instanceId);
    if (!entry) return;
    entry.closed = true;
    this.gone(instanceId);
    if (entry.busy.size > 0) await new Promise<void>((resolve) => (entry.draining = resolve));
    this.entries.delete(instanceId);
  }

  /** Drops every connection at once, failing the answers in flight (a hung instance). */
  destroy(instanceId: string): void {
    const entry = this.entries.get(instanceId);
    if (!entry) return;
    entry.closed = true;
    this.entries.delete(instanceId);
    this.gone(instanceId);
    for (const connection of entry.busy) connection.socket.destroy();
    entry.draining?.();
  }

  private async take(entry: Entry): Promise<Connection> {
    if (entry.closed) throw new InstanceFailure('unreachable', 'the instance was stopped');
    const now = Date.now();
    let connection: Connection | undefined;
    while ((connection = entry.idle.pop())) {
      if (!connection.socket.destroyed && now - connection.usedAt < REUSE_WITHIN_MS) return connection;
      connection.socket.destroy();
    }
    const socket = await entry.link.take();
    // Stopped while the shim dialled in: the request was never sent, so it may go to another instance.
    if (entry.closed) {
      socket.destroy();
      throw new InstanceFailure('unreachable', 'the instance was stopped');
    }
    return new Connection(socket, (gone) => {
      const index = entry.idle.indexOf(gone);
      if (index >= 0) entry.idle.splice(index, 1);
    });
  }

  private settle(entry: Entry, connection: Connection, reusable: boolean): void {
    entry.busy.delete(connection);
    if (reusable && !entry.closed && !connection.socket.destroyed) {
      connection.usedAt = Date.now();
      connection.socket.resume();
      entry.idle.push(connection);
    } else {
      connection.socket.destroy();
    }
    if (entry.busy.size === 0) entry.draining?.();
  }
}
