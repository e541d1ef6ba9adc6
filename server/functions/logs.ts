// The logs verb: a function's kept output (or its last deploy's), filtered by time and version, and followed live.
import { LambdaError } from '../errors.js';
import type { LogLine } from '../logs/types.js';
import type { Deps } from './deps.js';
import { assertFunctionName } from './names.js';

export interface LogsInput {
  name: string;
  /** How far back: a duration ("90s", "15m", "1h", "2d") or a time ("2026-11-25T17:00:00Z"). */
  since?: string;
  /** Only this version's lines: "3" or "v3". With `build`, that version's last deploy. */
  version?: string;
  /** The last deploy's output instead of the function's. */
  build?: boolean;
  /** Only the last N matching lines of what is kept ("0": all). */
  tail?: string;
  /** Then new lines as they come, until `signal` aborts. */
  follow?: boolean;
  signal?: AbortSignal;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MAX_TAIL = 100_000;

/**
 * Reads the logs of `name`: lines in batches, oldest first. Everything is checked before the first line, so an
 * adapter can answer with an error status. Throws LAMBDA_ERR_INVALID_NAME, LAMBDA_ERR_FUNCTION_NOT_FOUND,
 * LAMBDA_ERR_VERSION_NOT_FOUND, LAMBDA_ERR_BAD_REQUEST (since, version or tail malformed).
 */
export async function readLogs(deps: Pick<Deps, 'store' | 'logs'>, input: LogsInput, now = Date.now()): Promise<AsyncIterable<LogLine[]>> {
  const name = assertFunctionName(input.name);
  const logs = deps.logs;
  // Output kept without a record (a rejected first deploy removes its own, so only one whose removal failed) is read too.
  if (!deps.store.functions.get(name) && !logs.has(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
  const since = input.since === undefined ? undefined : parseSince(input.since, now);
  const tail = input.tail === undefined ? undefined : parseTail(input.tail);
  const version = input.version === undefined ? undefined : parseVersion(input.version);
  const record = version === undefined ? undefined : deps.store.versions.byNumber(name, version);
  if (version !== undefined && !record) throw new LambdaError('LAMBDA_ERR_VERSION_NOT_FOUND', { name, version: `v${version}` });
  if (input.build) return logs.readBuild(name, { sha: record?.sha });
  return logs.read(name, { since, version, tail, follow: input.follow === true, signal: input.signal });
}

/** `since` as ms since the epoch. */
export function parseSince(text: string, now: number): number {
  const relative = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text.trim());
  if (relative) return now - Number(relative[1]) * (UNIT_MS[relative[2] as string] as number);
  // A time needs a date: "2026-11-25", "2026-11-25T17:00:00Z"; bare numbers are refused as ambiguous.
  const time = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : NaN;
  if (Number.isNaN(time)) {
    throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', {
      detail: `since: expected a duration such as "15m", "1h" or "2d", or a time such as "2026-11-25T17:00:00Z", got ${JSON.stringify(text.slice(0, 80))}`,
    });
  }
  return time;
}

function parseVersion(text: string): number {
  const match = /^v?(\d{1,9})$/.exec(text.trim());
  const number = match ? Number(match[1]) : 0;
  if (number < 1) throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `version: expected a version such as "v3", got ${JSON.stringify(text.slice(0, 80))}` });
  return number;
}

function parseTail(text: string): number {
  const number = /^\d{1,6}$/.test(text.trim()) ? Number(text) : -1;
  if (number < 0 || number > MAX_TAIL) throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `tail: expected a number of lines from 0 to ${MAX_TAIL}, got ${JSON.stringify(text.slice(0, 80))}` });
  return number;
}
