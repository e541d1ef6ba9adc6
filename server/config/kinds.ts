// The kinds of value a setting takes (duration, size, count, port, on/off, text): how each is read and what a bad one is told.
import { parseDuration, parseSize, showDuration, showSize } from './units.js';

/** A value as the environment (always text) or config/default.yaml (text, number or boolean) gives it. */
export type Raw = string | number | boolean;

export interface Kind<T> {
  name: 'duration' | 'size' | 'count' | 'port' | 'bool' | 'string';
  /** What a good value looks like, for the message that refuses a bad one. */
  expected: string;
  /** The value, or undefined when `raw` is not one. */
  read(raw: Raw): T | undefined;
}

/** A whole number from YAML or text, else undefined. */
function whole(raw: Raw): number | undefined {
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

const within = (value: number | undefined, min: number, max: number) => (value !== undefined && value >= min && value <= max ? value : undefined);

/** A whole number from `min` to `max`. */
export function count(min: number, max: number): Kind<number> {
  return { name: 'count', expected: `a whole number from ${min} to ${max}`, read: (raw) => within(whole(raw), min, max) };
}

export const port: Kind<number> = { name: 'port', expected: 'a port number from 0 to 65535', read: (raw) => within(whole(raw), 0, 65535) };

/**
 * Milliseconds, written with a unit ("10s", "5m") or as a bare number of milliseconds (the YAML keys end in `Ms`),
 * from `min` to `max`. `min` 0 lets 0 through, which each such setting says the meaning of.
 */
export function duration(min = 1, max = Number.MAX_SAFE_INTEGER): Kind<number> {
  const read = (raw: Raw) => within(typeof raw === 'string' && /[a-z]$/.test(raw.trim()) ? parseDuration(raw) : whole(raw), min, max);
  const bounds = `${min === 0 ? ' (or 0)' : ''}${max < Number.MAX_SAFE_INTEGER ? `, at most ${showDuration(max)}` : ''}`;
  return { name: 'duration', expected: `a duration such as "10s"${bounds}`, read };
}

/** Bytes, written with a unit ("64Mi", "4Gi") or as a bare number of bytes, at least `min`. */
export function size(min = 1): Kind<number> {
  const read = (raw: Raw) => within(typeof raw === 'string' && /[A-Za-z]$/.test(raw.trim()) ? parseSize(raw) : whole(raw), min, Number.MAX_SAFE_INTEGER);
  return { name: 'size', expected: min > 1 ? `a size from ${showSize(min)}, such as "${showSize(min * 4)}"` : 'a size such as "64Mi"', read };
}

export const onOff: Kind<boolean> = {
  name: 'bool',
  expected: 'on or off',
  read: (raw) => (raw === true || raw === 'on' || raw === '1' ? true : raw === false || raw === 'off' || raw === '0' ? false : undefined),
};

/** Any text that is not blank, trimmed. */
export const text: Kind<string> = {
  name: 'string',
  expected: 'some text',
  read: (raw) => (typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : typeof raw === 'number' ? String(raw) : undefined),
};

/** One of `values`, as written. */
export function oneOf<T extends string>(...values: T[]): Kind<T> {
  return { name: 'string', expected: values.map((value) => `"${value}"`).join(' or '), read: (raw) => (values as Raw[]).includes(raw) ? (raw as T) : undefined };
}
