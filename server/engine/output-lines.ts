// Splits an untrusted job's output into lines, bounded: a line is cut at 64 KiB and a run reads at most 16 MiB.
import { Writable } from 'node:stream';

const KIB = 1024;
const MIB = 1024 * KIB;
const LF = 0x0a;
const CR = 0x0d;

export interface OutputLimits {
  /** Bytes kept of one line; the rest of it, up to its end, is dropped. */
  lineBytes: number;
  /** Bytes of output read per run, stdout and stderr together; the rest is read and dropped. */
  runBytes: number;
}

export const OUTPUT_LIMITS: OutputLimits = { lineBytes: 64 * KIB, runBytes: 16 * MIB };

/** Starts a line that went past `lineBytes`: callers shorten lines again, so the mark goes first to stay seen. */
export const cutLineMark = (limits: OutputLimits) => `[line cut at ${size(limits.lineBytes)}]`;
export const cutRunLine = (limits: OutputLimits) => `[output cut at ${size(limits.runBytes)}: the rest of it was dropped]`;

export interface RunOutput {
  /** A new writable for one source (stdout, stderr); they share the run's byte budget. */
  source(): Writable;
  /** Hands over every source's unfinished last line. */
  flush(): void;
}

/**
 * One run's output, as `onLine` calls per line (carriage returns end lines too: progress bars redraw with them).
 * The job is hostile: it may write without a newline or without end, so nothing here grows with what it writes and
 * each byte is looked at a bounded number of times.
 */
export function runOutput(onLine: (line: string) => void, limits: OutputLimits = OUTPUT_LIMITS): RunOutput {
  let left = limits.runBytes;
  const sources: LineSplitter[] = [];
  return {
    source() {
      const splitter = new LineSplitter(onLine, limits.lineBytes, cutLineMark(limits));
      sources.push(splitter);
      return new Writable({
        write(chunk: Buffer, _encoding, done) {
          if (left > 0) {
            const taken = chunk.length > left ? chunk.subarray(0, left) : chunk;
            left -= taken.length;
            splitter.write(taken);
            if (left === 0) {
              splitter.flush();
              onLine(cutRunLine(limits));
            }
          }
          done();
        },
      });
    },
    flush() {
      for (const splitter of sources) splitter.flush();
    },
  };
}

class LineSplitter {
  private parts: Buffer[] = [];
  private bytes = 0;
  /** The line in progress was cut: its bytes are dropped up to its end. */
  private dropping = false;
  /** The last chunk ended with \r: a \n opening the next one ends no other line. */
  private afterCR = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly lineBytes: number,
    private readonly mark: string,
  ) {}

  write(chunk: Buffer): void {
    let start = this.afterCR && chunk[0] === LF ? 1 : 0;
    this.afterCR = false;
    // Each byte value's next position is searched again only once passed, so a chunk is scanned about twice.
    let lf = chunk.indexOf(LF, start);
    let cr = chunk.indexOf(CR, start);
    while (lf !== -1 || cr !== -1) {
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      this.take(chunk.subarray(start, end));
      this.endLine();
      start = end + 1;
      if (end === cr) {
        if (start === chunk.length) this.afterCR = true;
        else if (chunk[start] === LF) start += 1;
      }
      if (lf !== -1 && lf < start) lf = chunk.indexOf(LF, start);
      if (cr !== -1 && cr < start) cr = chunk.indexOf(CR, start);
    }
    this.take(chunk.subarray(start));
  }

  flush(): void {
    if (this.bytes > 0) this.endLine();
    this.dropping = false;
  }

  private take(piece: Buffer): void {
    if (this.dropping || piece.length === 0) return;
    const room = this.lineBytes - this.bytes;
    if (piece.length <= room) {
      // A copy: a slice would keep the whole chunk it came from alive.
      this.parts.push(Buffer.from(piece));
      this.bytes += piece.length;
      return;
    }
    this.parts.push(Buffer.from(piece.subarray(0, room)));
    this.bytes += room;
    this.emit(`${this.mark} `);
    this.dropping = true;
  }

  private endLine(): void {
    if (this.dropping) this.dropping = false;
    else this.emit('');
  }

  private emit(prefix: string): void {
    const text = Buffer.concat(this.parts, this.bytes).toString('utf8');
    this.parts = [];
    this.bytes = 0;
    this.onLine(prefix + text);
  }
}

function size(bytes: number): string {
  if (bytes % MIB === 0) return `${bytes / MIB} MiB`;
  return bytes % KIB === 0 ? `${bytes / KIB} KiB` : `${bytes} bytes`;
}
