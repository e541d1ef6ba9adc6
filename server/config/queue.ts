// Settings of the scheduler and the async queue's workers, from LAMBDA_* environment variables.
import { DEFAULT_QUEUE_MAX, keepBound } from '../queue/invocations.js';
import type { KeepBound } from '../store/types.js';

export interface JobSettings {
  /** Delay before the first retry of a failed async call; the second waits twice as long (LAMBDA_RETRY_BASE_MS; Lambda: 1 min). */
  retryBaseMs: number;
  /** Attempts in all before a call is dead-lettered (Lambda: 1 + 2 retries). */
  maxAttempts: number;
  /** Calls of one function run at once by the workers, at most (LAMBDA_ASYNC_CONCURRENCY); never above maxInstances × concurrency. */
  concurrency: number;
  /** Calls one function may have waiting (LAMBDA_ASYNC_QUEUE_MAX). */
  queueMax: number;
  /** How often the workers look for calls whose backoff is over. */
  pollMs: number;
  /** A cron time this late (ms) when the scheduler could fire it is logged as missed instead (LAMBDA_SCHEDULE_GRACE_MS). */
  graceMs: number;
  /** Bytes one function's calls may keep (config limits: LAMBDA_ASYNC_MAX_BYTES). */
  keep: KeepBound;
  /** A finished call is deleted this long after it finished (LAMBDA_ASYNC_RETENTION). */
  retentionMs: number;
  /** A dead letter is deleted this long after it failed (LAMBDA_ASYNC_DLQ_RETENTION). */
  deadLetterRetentionMs: number;
}

/** The retention settings that live in config (server/config/load.ts `limits`). */
export interface RetentionLimits {
  asyncMaxBytes: number;
  asyncRetentionMs: number;
  asyncDeadLetterRetentionMs: number;
}

export function readJobSettings(env: NodeJS.ProcessEnv, limits: RetentionLimits): JobSettings {
  return {
    keep: keepBound(limits.asyncMaxBytes),
    retentionMs: limits.asyncRetentionMs,
    deadLetterRetentionMs: limits.asyncDeadLetterRetentionMs,
    retryBaseMs: whole(env, 'LAMBDA_RETRY_BASE_MS', 60_000, 0, 3_600_000),
    maxAttempts: 3,
    concurrency: whole(env, 'LAMBDA_ASYNC_CONCURRENCY', 16, 1, 1000),
    queueMax: whole(env, 'LAMBDA_ASYNC_QUEUE_MAX', DEFAULT_QUEUE_MAX, 1, 10_000_000),
    pollMs: 200,
    graceMs: whole(env, 'LAMBDA_SCHEDULE_GRACE_MS', 1_000, 0, 3_600_000),
  };
}

function whole(env: NodeJS.ProcessEnv, key: string, fallback: number, min: number, max: number): number {
  const text = env[key];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return value;
}
