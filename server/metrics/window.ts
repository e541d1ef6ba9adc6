// The window a metrics question asks about: `since`, `until` and `step` as the API and `lambda metrics` write them, checked.
import { LambdaError } from '../errors.js';
import { parseDuration, showDuration } from '../config/units.js';
import { MINUTE_MS, TIERS, widthAt } from './tiers.js';

const MINUTE = MINUTE_MS;
const DAY = 24 * 60 * MINUTE;

/** LAMBDA_METRICS_RETENTION's default, for callers not given the setting; a window cannot reach further back than the retention. */
export const DEFAULT_METRICS_RETENTION_MS = 14 * DAY;
export const DEFAULT_SINCE = '1h';
/** A series longer than this is refused: a chart has no use for more points, and each one costs the answer. */
export const MAX_POINTS = 1440;

export interface MetricsWindow {
  /** The first start of a whole row in the window (epoch ms): a minute's, or a wider row's where older rows are wider (tiers.ts). */
  since: number;
  /** The window's end (epoch ms), exclusive; the minute it falls in counts as far as it is recorded. */
  until: number;
  /** The width of a series' step in ms, a multiple of the widest rows in the window; absent when no series was asked for. */
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
 * reaches back at most `retentionMs`, what the store keeps, and starts on the first whole row in it: where it reaches
 * rows older than a tier's age, those rows are wider and `step` must be a multiple of their width, so each row falls
 * in one step. Throws LAMBDA_ERR_BAD_REQUEST naming the parameter.
 */
export function parseWindow(query: WindowQuery, now: number, retentionMs = DEFAULT_METRICS_RETENTION_MS): MetricsWindow {
  const asked = query.until === undefined || query.until === null ? now : parseTime('until', query.until, 'a time such as "2026-11-25T17:00:00Z"');
  // An end inside a wide (merged) row ends at that row's start: the row cannot be split, and counting it whole would
  // count time past the end. Minute rows keep the end as asked, so the minute under way counts as far as recorded.
  const endWidth = widthAt(asked, now);
  const until = endWidth > MINUTE ? Math.floor(asked / endWidth) * endWidth : asked;
  const sinceText = query.since ?? DEFAULT_SINCE;
  const ago = parseSpan(sinceText);
  const expected = `a duration from 1m to ${showSpan(retentionMs)} such as "15m", "1h", "24h" or "7d", or a time such as "2026-11-25T17:00:00Z" within it`;
  const since = ago === undefined ? parseTime('since', sinceText, expected) : asked - ago;
  if (ago !== undefined && ago < MINUTE) refuse('since', expected, sinceText);
  if (since >= asked) refuse('since', `${expected}, before until`, sinceText);
  if (asked - since > retentionMs || since < now - retentionMs - MINUTE) refuse('since', expected, sinceText);
  // A window holding no row's start (one that starts after its last minute began, or inside one wide row) holds nothing.
  const { start: firstRow, width } = firstWholeRow(since, now);
  if (query.step === undefined || query.step === null) return { since: firstRow, until };
  const step = parseSpan(query.step);
  const stepExpected = 'a whole number of minutes from 1m, such as "1m", "5m" or "1h"';
  if (step === undefined || step < MINUTE || step % MINUTE !== 0) refuse('step', stepExpected, query.step);
  const points = Math.max(0, Math.ceil((until - firstRow) / step));
  if (points > MAX_POINTS || step % width !== 0) {
    const least = Math.ceil((until - firstRow) / MAX_POINTS / width) * width;
    const why = points > MAX_POINTS ? `at most ${MAX_POINTS} points in the window` : `a multiple of ${showSpan(width)} (${ageOf(width)})`;
    refuse('step', `${why}: a step of at least ${showSpan(least)} for since=${sinceText}`, query.step);
  }
  return { since: firstRow, until, step };
}

/**
 * The first start of a whole row from `since` on, and the widest rows from there: rounding up to a wider row's start
 * may reach finer rows, so the width is asked again there.
 */
function firstWholeRow(since: number, now: number): { start: number; width: number } {
  let width = widthAt(since, now);
  let start = Math.ceil(since / width) * width;
  while (widthAt(start, now) !== width) {
    width = widthAt(start, now);
    start = Math.ceil(start / width) * width;
  }
  return { start, width };
}

/** "rows older than 2h are per 15m", for the width of a tier. */
function ageOf(width: number): string {
  const tier = TIERS.find((one) => one.width === width);
  return tier ? `rows older than ${showSpan(tier.after)} are per ${showSpan(width)}` : 'rows are per minute';
}

/** Milliseconds of "15m", "1h", "7d": the project's durations, written with a unit. */
function parseSpan(text: string): number | undefined {
  return /^\d{1,9}(?:\.\d+)?(ms|s|m|h|d)$/.test(text.trim()) ? parseDuration(text) : undefined;
}

/** Days where they are whole (the retention), else the project's way of writing a duration. */
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
