// One function's log on disk: `function.log` and its rotated predecessors `function.log.1` … (oldest last),
// bounded to `files` × `fileBytes`, appended in batches every few milliseconds, with live listeners for --follow.
import fs from 'node:fs';
import path from 'node:path';
import { NEWLINE } from './format.js';

export interface RotationLimits {
  /** Bytes one file may hold; a full file is rotated. */
  fileBytes: number;
  /** Files kept, the one being written included: the function's log never takes more than files × fileBytes. */
  files: number;
}

/** Open descriptors of every file, oldest first, and how far each is to be read: a consistent view at one instant. */
export interface LogSnapshot {
  files: { fd: number; size: number; mtimeMs: number }[];
  close(): void;
}

const CURRENT = 'function.log';
/**
 * Queued lines reach the disk this long after the first of them: one write per batch, not per turn of the event loop
 * (busy warm traffic turns it thousands of times a second). Readers never wait for it: snapshot() writes first.
 */
const FLUSH_AFTER_MS = 10;

export class FunctionLog {
  private fd: number | undefined;
  private size = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private failed = false;
  private readonly listeners = new Set<(chunk: Buffer) => void>();

  constructor(
    readonly dir: string,
    private readonly limits: RotationLimits,
    private readonly warn: (line: string) => void,
  ) {}

  /**
   * Queues complete lines (`chunk` ends with a newline). They reach the disk within FLUSH_AFTER_MS, all the function's
   * instances' lines in one write; listeners get them at once.
   */
  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    for (const listener of this.listeners) listener(chunk);
    if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(() => this.flush(), FLUSH_AFTER_MS).unref();
    }
  }

  /** Calls `listener` with every chunk appended from now on; returns how to stop. */
  listen(listener: (chunk: Buffer) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Writes what is queued. Synchronous on purpose: a page-cache write of one batch is cheaper than a thread-pool hop. */
  flush(): void {
    this.scheduled = false;
    if (this.pendingBytes === 0) return;
    const data = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    try {
      this.write(data);
      this.failed = false;
    } catch (error) {
      // A full or broken disk loses log lines, never a request: say so once, and try again with the next batch.
      if (!this.failed) this.warn(`cannot write the log in ${this.dir}: ${(error as Error).message}`);
      this.failed = true;
      this.closeFd();
    }
  }

  /**
   * Descriptors of every file as they are now, queued lines written first. Taken synchronously, so lines appended
   * afterwards reach listeners registered in the same turn and never the snapshot: no line is lost or doubled.
   */
  snapshot(): LogSnapshot {
    this.flush();
    const files: LogSnapshot['files'] = [];
    for (let index = this.limits.files - 1; index >= 0; index--) {
      let fd: number;
      try {
        fd = fs.openSync(this.file(index), 'r');
      } catch {
        continue;
      }
      const stat = fs.fstatSync(fd);
      files.push({ fd, size: stat.size, mtimeMs: stat.mtimeMs });
    }
    let open = true;
    return {
      files,
      close: () => {
        if (open) files.forEach(({ fd }) => fs.closeSync(fd));
        open = false;
      },
    };
  }

  /** True when anything was ever kept for this function. */
  exists(): boolean {
    return this.pendingBytes > 0 || fs.existsSync(this.file(0));
  }

  /** Total bytes of the kept files. */
  bytes(): number {
    let total = 0;
    for (let index = 0; index < this.limits.files; index++) {
      try {
        total += fs.statSync(this.file(index)).size;
      } catch {
        // not rotated that far yet
      }
    }
    return total;
  }

  close(): void {
    this.flush();
    this.closeFd();
  }

  private write(data: Buffer): void {
    let from = 0;
    while (from < data.length) {
      const fd = this.open();
      const room = this.limits.fileBytes - this.size;
      if (data.length - from <= room) {
        writeAll(fd, data, from, data.length);
        this.size += data.length - from;
        return;
      }
      // Fill this file up to the last whole line that fits, then start the next one.
      const cut = room > 0 ? data.lastIndexOf(NEWLINE, from + room - 1) : -1;
      if (cut >= from) {
        writeAll(fd, data, from, cut + 1);
        this.size += cut + 1 - from;
        from = cut + 1;
      } else if (this.size === 0) {
        // A line longer than a whole file (lines are bounded well below that): dropped rather than split.
        const newline = data.indexOf(NEWLINE, from);
        from = newline === -1 ? data.length : newline + 1;
        continue;
      }
      this.rotate();
    }
  }

  private open(): number {
    if (this.fd === undefined) {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.fd = fs.openSync(this.file(0), 'a', 0o600);
      this.size = fs.fstatSync(this.fd).size;
    }
    return this.fd;
  }

  private rotate(): void {
    this.closeFd();
    // Readers holding a descriptor keep reading a renamed or removed file as it was.
    for (let index = this.limits.files - 1; index >= 1; index--) {
      try {
        fs.renameSync(this.file(index - 1), this.file(index));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    fs.rmSync(this.file(0), { force: true });
    this.size = 0;
  }

  private closeFd(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.size = 0;
  }

  private file(index: number): string {
    return path.join(this.dir, index === 0 ? CURRENT : `${CURRENT}.${index}`);
  }
}

function writeAll(fd: number, data: Buffer, from: number, to: number): void {
  let at = from;
  while (at < to) at += fs.writeSync(fd, data, at, to - at);
}
