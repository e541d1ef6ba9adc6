// The host end of each instance's log socket (`log.sock`, next to `host.sock` in the instance's read-only folder):
// the shim dials in and sends its output as lines; the host stamps each with the instance and version, bounds the
// rate per function (a function that logs faster has its connection paused, so its shim drops lines and counts
// them) and hands them to the log store. Like host.sock, the host creates the socket and only ever accepts.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { NEWLINE, linePrefix, prefixLines } from '../logs/format.js';
import type { LogAppender } from '../logs/types.js';
import type { Instance } from './types.js';

/** The socket's name in the instance folder (buildpacks' shims dial the same name). */
export const LOG_SOCKET_NAME = 'log.sock';
/** The shim keeps one connection; a function dialling more gets a few, never the host's descriptors. */
const MAX_CONNECTIONS = 4;
/** The shim cuts lines at 64 KiB; anything longer without a newline is cut here. */
const MAX_LINE_BYTES = 64 * 1024 + 1024;
/** After an instance stops, its connections may still deliver what the shim sent last. */
const LINGER_MS = 5_000;

export interface InstanceLogOptions {
  /** Bytes per second one function's instances may send together. */
  ratePerSecond: number;
  /** The version number of a commit, for instances adopted after a restart (a new instance's spec says it). */
  versionOf(fn: string, sha: string): number | undefined;
  warn?(line: string): void;
}

type LogTarget = Pick<Instance, 'id' | 'fn' | 'sha' | 'socketPath'>;

export class InstanceLogSockets {
  private readonly listeners = new Map<string, Listener>();
  private readonly buckets = new Map<string, RateBucket>();

  constructor(
    private readonly sink: LogAppender,
    private readonly options: InstanceLogOptions,
  ) {}

  /** Listens on the instance's log socket, once per instance; `version` is looked up when not given. */
  open(instance: LogTarget, version?: number): void {
    if (this.listeners.has(instance.id)) return;
    const socketPath = path.join(path.dirname(instance.socketPath), LOG_SOCKET_NAME);
    let bucket = this.buckets.get(instance.fn);
    if (!bucket) {
      bucket = new RateBucket(this.options.ratePerSecond);
      this.buckets.set(instance.fn, bucket);
    }
    const prefix = linePrefix(instance.id, version ?? this.options.versionOf(instance.fn, instance.sha) ?? null);
    const append = (chunk: Buffer) => this.sink.append(instance.fn, chunk);
    try {
      this.listeners.set(instance.id, new Listener(socketPath, prefix, bucket, append));
    } catch (error) {
      // The function still serves; only its output is not kept.
      this.options.warn?.(`cannot listen for the output of instance ${instance.id}: ${(error as Error).message}`);
    }
  }

  /** Stops accepting; connections left deliver their last lines, then close. Idempotent. */
  close(instanceId: string): void {
    this.listeners.get(instanceId)?.close();
    this.listeners.delete(instanceId);
  }

  closeAll(): void {
    for (const id of [...this.listeners.keys()]) this.close(id);
  }
}

class Listener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly socketPath: string,
    private readonly prefix: Buffer,
    private readonly bucket: RateBucket,
    private readonly append: (chunk: Buffer) => void,
  ) {
    fs.rmSync(socketPath, { force: true });
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.on('error', () => this.close());
    // Binding happens inside listen(): the file exists (and is the host's) when this returns.
    this.server.listen(socketPath);
    fs.chmodSync(socketPath, 0o666);
  }

  close(): void {
    this.server.close();
    fs.rmSync(this.socketPath, { force: true });
    for (const socket of this.sockets) setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }

  private accept(socket: net.Socket): void {
    if (this.sockets.size >= MAX_CONNECTIONS) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    let carry: Buffer | undefined;
    socket.on('data', (chunk: Buffer) => {
      this.bucket.spend(chunk.length, socket);
      const data = carry ? Buffer.concat([carry, chunk]) : chunk;
      carry = undefined;
      const last = data.lastIndexOf(NEWLINE);
      if (last !== -1) this.append(prefixLines(data, last + 1, this.prefix));
      if (last + 1 < data.length) {
        // Copied, so a small rest does not keep the whole chunk alive.
        carry = Buffer.from(data.subarray(last + 1));
        if (carry.length > MAX_LINE_BYTES) {
          this.flushCarry(carry.subarray(0, MAX_LINE_BYTES));
          carry = undefined;
        }
      }
    });
    socket.on('close', () => {
      if (carry) this.flushCarry(carry);
      carry = undefined;
      this.sockets.delete(socket);
    });
    socket.on('error', () => {});
  }

  private flushCarry(rest: Buffer): void {
    const line = Buffer.concat([rest, Buffer.from('\n')]);
    this.append(prefixLines(line, line.length, this.prefix));
  }
}

/** A token bucket of bytes per second with one second of burst; a connection that overdraws it waits until it refills. */
class RateBucket {
  private tokens: number;
  private last = Date.now();

  constructor(private readonly rate: number) {
    this.tokens = rate;
  }

  spend(bytes: number, socket: net.Socket): void {
    const now = Date.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    this.tokens -= bytes;
    if (this.tokens >= 0) return;
    // Not reading makes the shim's buffer fill, so the shim drops and counts lines instead of the host slowing down.
    socket.pause();
    setTimeout(() => socket.resume(), Math.ceil((-this.tokens / this.rate) * 1000)).unref();
  }
}
