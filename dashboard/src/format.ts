// Pure helpers the pages share: numbers and times as people read them, chart windows, NDJSON lines from a stream.
import type { SeriesPoint } from '../../server/metrics/summary.js';

/** The chart windows the function page offers, each with a step that gives a chart of about a hundred points or fewer. */
export const WINDOWS = {
  '1h': { since: '1h', step: '1m' },
  '24h': { since: '24h', step: '15m' },
  '7d': { since: '7d', step: '2h' },
} as const;
export type WindowName = keyof typeof WINDOWS;

export function isWindowName(value: string | null): value is WindowName {
  return value !== null && Object.hasOwn(WINDOWS, value);
}

/** "12 ms", "1.4 s", "—" when there is nothing to say. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** 950, "12.3k", "4.5M". */
export function formatCount(count: number | null | undefined): string {
  if (count === null || count === undefined || !Number.isFinite(count)) return '—';
  if (count < 10_000) return String(count);
  if (count < 1_000_000) return `${(count / 1000).toFixed(1)}k`;
  return `${(count / 1_000_000).toFixed(1)}M`;
}

/** An error rate (0–1) as a percentage. */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '—';
  return `${(rate * 100).toFixed(rate === 0 || rate >= 0.1 ? 0 : 1)}%`;
}

/** "3 min ago", from an ISO time and now. */
export function formatAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '—';
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/** A point of a metrics series, as the API gives it: the server's own type, so both sides say the same. */
export type MetricsPoint = SeriesPoint;

/** Columns for a chart: times in seconds (uPlot's x), then one array per field; a missing percentile stays a gap. */
export function columns(series: readonly MetricsPoint[], fields: readonly (keyof Omit<MetricsPoint, 'at'>)[]): [number[], ...(number | null)[][]] {
  const times = series.map((point) => Math.floor(Date.parse(point.at) / 1000));
  return [times, ...fields.map((field) => series.map((point) => point[field] ?? null))];
}

/**
 * Splits a byte stream's text into whole lines. A line longer than `maxLine` is cut there (a hostile function may
 * write one without end), so what is held never grows past that.
 */
export class LineSplitter {
  private rest = '';
  constructor(private readonly maxLine = 16_384) {}

  push(text: string): string[] {
    const parts = (this.rest + text).split('\n');
    this.rest = parts.pop() ?? '';
    const lines = parts.filter((line) => line.length > 0).map((line) => line.slice(0, this.maxLine));
    if (this.rest.length > this.maxLine) {
      lines.push(this.rest.slice(0, this.maxLine));
      this.rest = '';
    }
    return lines;
  }
}

/** A log entry as `GET …/logs` streams it. */
export interface LogEntry {
  time: string;
  stream: string;
  instance?: string;
  version?: number | string;
  text: string;
}

/** One NDJSON line as a log entry, or undefined when it is not one. */
export function parseLogLine(line: string): LogEntry | undefined {
  try {
    const value = JSON.parse(line) as Partial<LogEntry> | null;
    if (!value || typeof value !== 'object' || typeof value.text !== 'string') return undefined;
    return { time: String(value.time ?? ''), stream: String(value.stream ?? ''), instance: value.instance === undefined ? undefined : String(value.instance), version: value.version, text: value.text };
  } catch {
    return undefined;
  }
}

/** The page a dashboard path is: the functions list, one function, or none. */
export type Page = { page: 'functions' } | { page: 'function'; name: string } | { page: 'unknown' };

export function pageOf(pathname: string): Page {
  const path = pathname.replace(/\/+$/, '');
  if (path === '/dashboard' || path === '/dashboard/functions') return { page: 'functions' };
  const match = /^\/dashboard\/functions\/([a-z][a-z0-9-]{0,62})$/.exec(path);
  return match ? { page: 'function', name: match[1] as string } : { page: 'unknown' };
}

/** "1 invocation", "12.3k invocations": a count with its noun, singular for exactly one. */
export function counted(count: number | null | undefined, noun: string): string {
  return `${formatCount(count)} ${count === 1 ? noun : `${noun}s`}`;
}

/** What the API counts of a function's instances; frozen ones are among `running` (they hold their container). */
export interface InstanceCounts {
  running: number;
  starting: number;
  frozen?: number;
}

/** "2 running", "0 running, 1 frozen", "1 running, 1 starting"; a frozen instance is not said to be running. */
export function formatInstances(counts: InstanceCounts | undefined): string {
  if (!counts) return '—';
  const frozen = counts.frozen ?? 0;
  const parts = [`${Math.max(0, counts.running - frozen)} running`];
  if (frozen > 0) parts.push(`${frozen} frozen`);
  if (counts.starting > 0) parts.push(`${counts.starting} starting`);
  return parts.join(', ');
}

/**
 * The indices of a chart series worth a dot: its values (non-zero ones for counts), when they are few enough that
 * a line alone would not show them (a lone minute between empty ones draws no line at all); null when dense.
 */
export function sparsePoints(values: readonly (number | null | undefined)[], counts: boolean, max = 40): number[] | null {
  const marked: number[] = [];
  values.forEach((value, index) => {
    if (value !== null && value !== undefined && !(counts && value === 0)) marked.push(index);
  });
  return marked.length <= max ? marked : null;
}

/** The browser's time zone, for a chart's one note that its times are local. */
export function localZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
}
