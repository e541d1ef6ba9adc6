// The on-disk form of a log line, and its parsing: `<instance>\t<version>\t<ms>\t<stream>\t<text>\n`.
// The host writes the first two fields (so a function cannot forge them); the shim sends the rest.

/** Where a line came from: the function's stdout or stderr, the platform (START/END/REPORT, drop markers), a deploy. */
export type LogStream = 'out' | 'err' | 'platform' | 'build';

export interface LogLine {
  /** Milliseconds since the epoch, as the shim (or the build) stamped it. */
  time: number;
  stream: LogStream;
  /** The instance that wrote it (12 hex digits); for build lines, the commit's first 12 hex digits. */
  instance: string;
  /** The function version the instance served; null for build lines or when it was not known. */
  version: number | null;
  text: string;
}

const STREAM_OF: Record<string, LogStream> = { o: 'out', e: 'err', p: 'platform', b: 'build' };
const LETTER_OF: Record<LogStream, string> = { out: 'o', err: 'e', platform: 'p', build: 'b' };

export const NEWLINE = 0x0a;

/** The host's part of every line of one instance: its id and version. */
export function linePrefix(instance: string, version: number | null): Buffer {
  return Buffer.from(`${instance}\t${version ?? 0}\t`);
}

/** One whole line as the host stores it (build output, platform markers written by the host). */
export function encodeLine(line: LogLine): string {
  return `${line.instance}\t${line.version ?? 0}\t${line.time}\t${LETTER_OF[line.stream]}\t${line.text.replace(/\n/g, ' ')}\n`;
}

/**
 * Inserts `prefix` before each line of `data[0, end)`, which must end with a newline. The hot path of function
 * logging on the host: two native scans and one copy, no string decoding.
 */
export function prefixLines(data: Buffer, end: number, prefix: Buffer): Buffer {
  let count = 0;
  for (let at = data.indexOf(NEWLINE); at !== -1 && at < end; at = data.indexOf(NEWLINE, at + 1)) count += 1;
  const out = Buffer.allocUnsafe(end + count * prefix.length);
  let from = 0;
  let to = 0;
  while (from < end) {
    const newline = data.indexOf(NEWLINE, from);
    to += prefix.copy(out, to);
    to += data.copy(out, to, from, newline + 1);
    from = newline + 1;
  }
  return out;
}

/**
 * Parses one stored line (without its newline). The shim's fields are the function's to forge, so a line that
 * does not have them keeps the host's fields, the time `fallbackTime` and its whole rest as text.
 */
export function parseLine(raw: string, fallbackTime: number): LogLine | undefined {
  const a = raw.indexOf('\t');
  const b = a === -1 ? -1 : raw.indexOf('\t', a + 1);
  if (b === -1) return undefined;
  const instance = raw.slice(0, a);
  const number = Number(raw.slice(a + 1, b));
  const version = Number.isInteger(number) && number > 0 ? number : null;
  const c = raw.indexOf('\t', b + 1);
  const d = c === -1 ? -1 : raw.indexOf('\t', c + 1);
  const time = c === -1 ? NaN : Number(raw.slice(b + 1, c));
  const stream = d === -1 ? undefined : STREAM_OF[raw.slice(c + 1, d)];
  if (!Number.isFinite(time) || c - b > 16 || stream === undefined) {
    return { time: fallbackTime, stream: 'out', instance, version, text: raw.slice(b + 1) };
  }
  return { time, stream, instance, version, text: raw.slice(d + 1) };
}
