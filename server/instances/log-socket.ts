// The host end of each instance's log socket (`log.sock`, next to `host.sock` in the instance's read-only folder):
// the shim dials in and sends its output as lines; the host stamps each with the instance, version and its own time
// of receipt, keeps the function's stream letter only where the function may choose it (see PlatformRecords), bounds
// the rate per function (a function that logs faster has its connection paused, so its shim drops lines and counts
// them) and hands them to the log store. Like host.sock, the host creates the socket and only ever accepts.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { NEWLINE, linePrefix } from '../logs/format.js';
import type { LogAppender } from '../logs/types.js';
import type { Instance } from './engine.js';
import { LOG_SOCKET_NAME } from './protocol.js';

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
  /**
   * A REPORT this instance may write (see PlatformRecords) said its invocation used this much memory at most: the one
   * figure metrics take from an instance, so a function that lies there changes only its own.
   */
  maxMemory?(fn: string, version: number, maxMemoryMb: number): void;
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
    const known = version ?? this.options.versionOf(instance.fn, instance.sha) ?? null;
    const socketPath = path.join(path.dirname(instance.socketPath), LOG_SOCKET_NAME);
    let bucket = this.buckets.get(instance.fn);
    if (!bucket) {
      bucket = new RateBucket(this.options.ratePerSecond);
      this.buckets.set(instance.fn, bucket);
    }
    const prefix = linePrefix(instance.id, known);
    const append = (chunk: Buffer) => this.sink.append(instance.fn, chunk);
    try {
      const maxMemory = this.options.maxMemory;
      const onReport = maxMemory && known !== null ? (mb: number) => maxMemory(instance.fn, known, mb) : undefined;
      this.listeners.set(instance.id, new Listener(socketPath, prefix, new PlatformRecords(known, onReport), bucket, append));
    } catch (error) {
      // The function still serves; only its output is not kept.
      this.options.warn?.(`cannot listen for the output of instance ${instance.id}: ${(error as Error).message}`);
    }
  }

  /** The host sent the instance a request (one its shim may log START, END and REPORT for). */
  sent(instanceId: string): void {
    this.listeners.get(instanceId)?.records.sent();
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
    readonly records: PlatformRecords,
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
      if (last !== -1) this.append(stampLines(data, last + 1, this.prefix, Date.now(), this.records));
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
    this.append(stampLines(line, line.length, this.prefix, Date.now(), this.records));
  }
}

const TAB = 0x09;
const OUT = 0x6f; // o
const ERR = 0x65; // e
const PLATFORM = 0x70; // p
/** The shim's time field is a number of milliseconds: a longer first field is no header at all. */
const MAX_TIME_FIELD = 16;

/**
 * Stamps each line of `data[0, end)` (which ends with a newline) as the host stores it:
 * `<instance>\t<version>\t<now>\t<o|e|p>\t<text>\n`. A function sends `<ms>\t<o|e|p>\t<text>`, and only the text
 * is taken as it comes: the time is the host's (`now`, taken when the chunk arrived), `o` and `e` are kept, `p` only for
 * a record `records` accepts, and anything else (a refused record, another letter such as a build line's, a line
 * without the header) is the function's own output, `o`, with its text. The hot path of function logging: per line,
 * two native scans and two copies; only platform records are decoded (as latin1: their grammar is ASCII, so any
 * other byte fails it either way, and it is the cheaper decoding).
 */
export function stampLines(data: Buffer, end: number, prefix: Buffer, now: number, records: PlatformRecords): Buffer {
  const head = Buffer.concat([prefix, Buffer.from(`${now}\t`)]);
  let count = 0;
  for (let at = data.indexOf(NEWLINE); at !== -1 && at < end; at = data.indexOf(NEWLINE, at + 1)) count += 1;
  const out = Buffer.allocUnsafe(end + count * (head.length + 2));
  let from = 0;
  let to = 0;
  while (from < end) {
    const newline = data.indexOf(NEWLINE, from);
    const tab = data.indexOf(TAB, from);
    to += head.copy(out, to);
    if (tab !== -1 && tab + 2 < newline && tab - from <= MAX_TIME_FIELD && data[tab + 2] === TAB) {
      const given = data[tab + 1];
      if (given === OUT || given === ERR || (given === PLATFORM && records.accept(data.toString('latin1', tab + 3, newline)))) {
        // The letter, its tab and the text, as they came.
        to += data.copy(out, to, tab + 1, newline + 1);
      } else {
        out[to++] = OUT;
        out[to++] = TAB;
        to += data.copy(out, to, tab + 3, newline + 1);
      }
    } else {
      out[to++] = OUT;
      out[to++] = TAB;
      to += data.copy(out, to, from, newline + 1);
    }
    from = newline + 1;
  }
  return out.subarray(0, to);
}

const ID = '([\\x21-\\x7e]{1,128})';
const START = new RegExp(`^START RequestId: ${ID} Version: (\\d{1,9})$`);
const END = new RegExp(`^END RequestId: ${ID}$`);
const REPORT = new RegExp(
  `^REPORT RequestId: ${ID}\\tDuration: \\d{1,9}\\.\\d\\d ms\\tBilled Duration: \\d{1,9} ms\\tMemory Size: \\d{1,6} MB\\tMax Memory Used: (\\d{1,6}) MB(?:\\tInit Duration: \\d{1,9}\\.\\d\\d ms)?\\tStatus: (?:success|error|timeout)$`,
);
const TIMED_OUT = new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d{1,6})?(?:Z|\\+00:00) ${ID} Task timed out after \\d{1,6}\\.\\d\\d seconds$`);
const DROPPED = /^\[lambda\] \d{1,12} lines dropped: the function wrote faster than its log is kept$/;
/** Requests sent but not yet STARTed that a shim may still log (its lines arrive after the answer, in batches). */
const MAX_CREDITS = 1024;
/** Invocations STARTed but not yet REPORTed that are remembered; beyond, the oldest is forgotten. */
const MAX_OPEN = 1024;

/**
 * Which platform records (`p` lines) of one instance are the platform's: START, END, REPORT, a timeout notice and the
 * shim's drop marker, each only in its exact grammar; a START only for a request the host sent this instance (one
 * START per request sent), with the instance's version; then, for that request id, one END and one REPORT, in order;
 * a timeout notice only between its START and its END. The figures in a REPORT are the shim's, as on AWS Lambda.
 */
export class PlatformRecords {
  private credits = 0;
  private readonly open = new Map<string, 'started' | 'ended'>();

  /** `onReport`: told the Max Memory Used of each REPORT accepted, in MB. */
  constructor(
    private readonly version: number | null,
    private readonly onReport?: (maxMemoryMb: number) => void,
  ) {}

  /** The host sent the instance a request. */
  sent(): void {
    if (this.credits < MAX_CREDITS) this.credits += 1;
  }

  /** True when `text` is a platform record this instance may write now (and counts it). */
  accept(text: string): boolean {
    const first = text.charCodeAt(0);
    if (first === 0x53 /* S */) {
      const start = START.exec(text);
      if (!start || this.credits === 0 || this.open.has(start[1] as string)) return false;
      if (this.version !== null && Number(start[2]) !== this.version) return false;
      this.credits -= 1;
      this.open.set(start[1] as string, 'started');
      if (this.open.size > MAX_OPEN) this.open.delete(this.open.keys().next().value as string);
      return true;
    }
    if (first === 0x45 /* E */) {
      const id = END.exec(text)?.[1];
      if (id === undefined || this.open.get(id) !== 'started') return false;
      this.open.set(id, 'ended');
      return true;
    }
    if (first === 0x52 /* R */) {
      const report = REPORT.exec(text);
      const id = report?.[1];
      if (id === undefined || this.open.get(id) !== 'ended') return false;
      this.open.delete(id);
      this.onReport?.(Number(report?.[2]));
      return true;
    }
    if (first === 0x5b /* [ */) return DROPPED.test(text);
    const id = TIMED_OUT.exec(text)?.[1];
    return id !== undefined && this.open.get(id) === 'started';
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
