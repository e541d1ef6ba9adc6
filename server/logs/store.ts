// The function log store: `<dir>/<fn>/function.log*` (output, rotated) and `<dir>/<fn>/builds/` (deploys), read
// with filters, followed live. Lines arrive already prefixed from the instance log sockets (server/instances/log-socket.ts).
import fs from 'node:fs';
import path from 'node:path';
import { latestBuild, recordBuild, type BuildLimits } from './builds.js';
import { NEWLINE, parseLine, type LogLine } from './format.js';
import { FunctionLog, type RotationLimits } from './function-log.js';
import type { FunctionLogs, LogAppender, LogQuery } from './types.js';

export interface LogStoreOptions extends RotationLimits, BuildLimits {
  dir: string;
  /** Where the store says it cannot write (a full disk), once per episode. */
  warn?: (line: string) => void;
}

export interface LogStore extends FunctionLogs, LogAppender {
  /** Bytes the function's output takes on disk now. */
  bytes(fn: string): number;
  /** Ends every --follow read, so a server that is stopping does not wait for its readers. */
  stopFollowing(): void;
  /** Writes what is queued and closes the files (server shutdown). */
  close(): void;
}

/** A reader of --follow that falls this far behind skips lines (counted) rather than holding the server's memory. */
const FOLLOW_BUFFER_BYTES = 4 * 1024 * 1024;
const READ_CHUNK = 256 * 1024;
const NAME = /^[a-z][a-z0-9-]{0,62}$/;

export function createLogStore(options: LogStoreOptions): LogStore {
  const warn = options.warn ?? (() => {});
  fs.mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const logs = new Map<string, FunctionLog>();
  const followers = new Set<Follower>();
  const dirOf = (fn: string) => {
    // Names are checked by the verbs already; this keeps a path outside the logs folder impossible here too.
    if (!NAME.test(fn)) throw new Error(`not a function name: ${JSON.stringify(fn)}`);
    return path.join(options.dir, fn);
  };
  const writerOf = (fn: string) => {
    let log = logs.get(fn);
    if (!log) {
      log = new FunctionLog(dirOf(fn), options, warn);
      logs.set(fn, log);
    }
    return log;
  };
  // Reading a function that never logged in this process must not leave an entry behind.
  const readerOf = (fn: string) => logs.get(fn) ?? new FunctionLog(dirOf(fn), options, warn);

  return {
    append: (fn, chunk) => writerOf(fn).append(chunk),
    bytes: (fn) => readerOf(fn).bytes(),
    has: (fn) => readerOf(fn).exists() || latestBuild(dirOf(fn)) !== undefined,
    // A follower must listen on the one log that later appends go to.
    read: (fn, query) => readOutput(query.follow ? writerOf(fn) : readerOf(fn), query, followers),
    async *readBuild(fn, query) {
      const file = latestBuild(dirOf(fn), query.sha);
      if (file === undefined) return;
      const fd = fs.openSync(file, 'r');
      try {
        yield* fileLines(fd, fs.fstatSync(fd).size);
      } finally {
        fs.closeSync(fd);
      }
    },
    recordBuild: (fn, sha, progress) => recordBuild(dirOf(fn), sha, options, progress, warn),
    remove(fn) {
      logs.get(fn)?.close();
      logs.delete(fn);
      fs.rmSync(dirOf(fn), { recursive: true, force: true });
    },
    stopFollowing() {
      for (const follower of followers) follower.stop();
    },
    close() {
      for (const log of logs.values()) log.close();
    },
  };
}

async function* readOutput(log: FunctionLog, query: LogQuery, followers: Set<Follower>): AsyncGenerator<LogLine[]> {
  const matches = (line: LogLine) => (query.since === undefined || line.time >= query.since) && (query.version === undefined || line.version === query.version);
  const tail = query.tail !== undefined && query.tail > 0 ? query.tail : undefined;
  // Snapshot and subscription in the same turn: every line is in exactly one of them.
  const snapshot = log.snapshot();
  const follower = query.follow ? new Follower(log, query.signal) : undefined;
  if (follower) followers.add(follower);
  try {
    const kept: LogLine[] = [];
    for (const file of snapshot.files) {
      // Every line of a file was written before its last modification.
      if (query.since !== undefined && file.mtimeMs < query.since) continue;
      for await (const batch of fileLines(file.fd, file.size)) {
        const selected = batch.filter(matches);
        if (tail === undefined) {
          if (selected.length > 0) yield selected;
          continue;
        }
        kept.push(...selected);
        if (kept.length > tail * 2) kept.splice(0, kept.length - tail);
      }
    }
    snapshot.close();
    if (tail !== undefined && kept.length > 0) yield kept.slice(-tail);
    if (!follower) return;
    for await (const batch of follower.batches()) {
      const selected = query.version === undefined ? batch : batch.filter(matches);
      if (selected.length > 0) yield selected;
    }
  } finally {
    snapshot.close();
    follower?.stop();
    if (follower) followers.delete(follower);
  }
}

/** Lines of `fd` up to byte `size`, in batches (one per chunk read), decoded only once whole. */
async function* fileLines(fd: number, size: number): AsyncGenerator<LogLine[]> {
  let position = 0;
  let carry: Buffer | undefined;
  let lastTime = 0;
  while (position < size) {
    const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - position));
    const read = await readAt(fd, buffer, position);
    if (read === 0) break;
    position += read;
    const data = carry ? Buffer.concat([carry, buffer.subarray(0, read)]) : buffer.subarray(0, read);
    const batch: LogLine[] = [];
    let from = 0;
    for (let newline = data.indexOf(NEWLINE); newline !== -1; newline = data.indexOf(NEWLINE, from)) {
      const line = parseLine(data.toString('utf8', from, newline), lastTime);
      from = newline + 1;
      if (line) {
        lastTime = line.time;
        batch.push(line);
      }
    }
    carry = from < data.length ? data.subarray(from) : undefined;
    if (batch.length > 0) yield batch;
  }
}

function readAt(fd: number, buffer: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buffer, 0, buffer.length, position, (error, bytes) => (error ? reject(error) : resolve(bytes))));
}

/** New lines of one function for one --follow reader, bounded: a reader that falls behind skips lines and is told how many. */
class Follower {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private skipped = 0;
  private wake: (() => void) | undefined;
  private ended = false;
  private readonly unlisten: () => void;
  private readonly onAbort = () => this.wake?.();

  constructor(
    log: FunctionLog,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.unlisten = log.listen((chunk) => this.push(chunk));
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  async *batches(): AsyncGenerator<LogLine[]> {
    while (!this.ended && !this.signal?.aborted) {
      if (this.chunks.length === 0 && this.skipped === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const batch: LogLine[] = [];
      if (this.skipped > 0) {
        batch.push({ time: Date.now(), stream: 'platform', instance: '', version: null, text: `[lambda] ${this.skipped} lines skipped: this reader fell behind` });
        this.skipped = 0;
      }
      const data = Buffer.concat(this.chunks, this.bytes);
      this.chunks = [];
      this.bytes = 0;
      let from = 0;
      for (let newline = data.indexOf(NEWLINE); newline !== -1; newline = data.indexOf(NEWLINE, from)) {
        const line = parseLine(data.toString('utf8', from, newline), Date.now());
        from = newline + 1;
        if (line) batch.push(line);
      }
      yield batch;
    }
  }

  stop(): void {
    this.ended = true;
    this.unlisten();
    this.signal?.removeEventListener('abort', this.onAbort);
    this.wake?.();
  }

  private push(chunk: Buffer): void {
    if (this.bytes + chunk.length > FOLLOW_BUFFER_BYTES) {
      for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, at + 1)) this.skipped += 1;
    } else {
      this.chunks.push(chunk);
      this.bytes += chunk.length;
    }
    this.wake?.();
  }
}
