// The window a metrics question asks about: `since`, `until` and `step` as the API and `lambda metrics` write them, checked.
import { LambdaError } from '../errors.js';
import { parseDuration, showDuration } from '../config/units.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** How long per-minute rows are kept when the server is not told otherwise; a window cannot reach further back. */
export const DEFAULT_METRICS_RETENTION_MS = 14 * DAY;
export const DEFAULT_SINCE = '1h';
/** A series longer than this is refused: a chart has no use for more points, and each one costs the answer. */
export const MAX_POINTS = 1440;

export interface MetricsWindow {
  /** The first whole minute in the window (epoch ms): rows are per minute. */
  since: number;
  /** The window's end (epoch ms), exclusive; the minute it falls in counts as far as it is recorded. */
  until: number;
  /** The width of a series' step in ms, whole minutes; absent when no series was asked for. */
  step?: number;
}

export interface WindowQuery {
  since?: string | null;
  until?: string | null;
  step?: string | null;
}

/**
 * `since`: a duration before `until` ("15m", "1h", "24h", "7d"; default 1h) or a time ("2026-11-25T17:00:00Z");
 * `until`: a time, default now; `step`: whole minutes from 1m, at most MAX_POINTS of them in the window. The window
 * reaches back at most `retentionMs`, what the store keeps. Throws LAMBDA_ERR_BAD_REQUEST naming the parameter.
 */
export function parseWindow(query: WindowQuery, now: number, retentionMs = DEFAULT_METRICS_RETENTION_MS): MetricsWindow {
  const until = query.until === undefined || query.until === null ? now : parseTime('until', query.until, 'a time such as "2026-11-25T17:00:00Z"');
  const sinceText = query.since ?? DEFAULT_SINCE;
  const ago = parseSpan(sinceText);
  const expected = `a duration from 1m to ${showSpan(retentionMs)} such as "15m", "1h", "24h" or "7d", or a time such as "2026-11-25T17:00:00Z" within it`;
  const since = ago === undefined ? parseTime('since', sinceText, expected) : until - ago;
  if (ago !== undefined && ago < MINUTE) refuse('since', expected, sinceText);
  if (since >= until) refuse('since', `${expected}, before until`, sinceText);
  if (until - since > retentionMs || since < now - retentionMs - MINUTE) refuse('since', expected, sinceText);
  const firstMinute = Math.ceil(since / MINUTE) * MINUTE;
  if (query.step === undefined || query.step === null) return { since: firstMinute, until };
  const step = parseSpan(query.step);
  const stepExpected = 'a whole number of minutes from 1m, such as "1m", "5m" or "1h"';
  if (step === undefined || step < MINUTE || step % MINUTE !== 0) refuse('step', stepExpected, query.step);
  const points = Math.ceil((until - firstMinute) / step);
  if (points > MAX_POINTS) {
    const least = Math.ceil((until - firstMinute) / MAX_POINTS / MINUTE) * MINUTE;
    refuse('step', `at most ${MAX_POINTS} points in the window: a step of at least ${showSpan(least)} for since=${sinceText}`, query.step);
  }
  return { since: firstMinute, until, step };
}

/** Milliseconds of "15m", "1h", "7d" (the project's durations, and days, which metrics windows are often counted in). */
function parseSpan(text: string): number | undefined {
  const days = /^(\d{1,4})d$/.exec(text.trim());
  if (days) return Number(days[1]) * DAY;
  return /^\d{1,9}(?:\.\d+)?(ms|s|m|h)$/.test(text.trim()) ? parseDuration(text) : undefined;
}

function showSpan(ms: number): string {
  return ms % DAY === 0 ? `${ms / DAY}d` : showDuration(ms);
}

/** A time needs a date ("2026-11-25", "2026-11-25T17:00:00Z"): a bare number is refused as ambiguous. */
function parseTime(parameter: string, text: string, expected: string): number {
  const time = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : NaN;
  if (Number.isNaN(time)) refuse(parameter, expected, text);
  return time;
}

function refuse(parameter: string, expected: string, got: string): never {
  throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `${parameter}: expected ${expected}, got ${JSON.stringify(got.slice(0, 80))}` });
}
