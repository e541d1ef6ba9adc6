// The async queue's workers: run queued calls at least once, a few at a time per function (within its
// maxInstances × concurrency), retry a failure twice with backoff, then dead-letter it with its error; and keep
// what finished calls leave behind within its bounds (bytes per function, age).
import { LambdaError, escapeControl } from '../errors.js';
import { functionError, invoke } from '../functions/invoke.js';
import type { Deps } from '../functions/deps.js';
import { KEPT_CHARS, keepBound, type QueuedHttpRequest } from './invocations.js';
import type { InvocationRecord } from '../store/invocation-types.js';
import { ERROR_HEADER, REQUEST_ID_HEADER } from '../instances/protocol.js';
import type { PlatformLog } from '../logs/platform-log.js';
import type { KeepBound } from '../store/types.js';
import type { Config } from '../config/load.js';
import { stepLine, warnLine } from '../logs/progress-text.js';

export interface QueueWorkers {
  /** Puts back calls the last process had taken (at-least-once), then starts taking calls. */
  start(): void;
  /** A call for `fn` was queued: look now rather than at the next poll. */
  notify(fn: string): void;
  /** Takes no more calls and waits for those running (at most `graceMs`; one cut short runs again after a restart). */
  stop(graceMs?: number): Promise<void>;
}

/** What the workers run by, from the server's settings (`async`, and the `limits` on what calls keep). */
export interface WorkerSettings {
  /** Delay before the first retry of a failed call; the second waits twice as long. */
  retryBaseMs: number;
  /** Calls of one function run at once, at most; never above its maxInstances × concurrency. */
  concurrency: number;
  /** Bytes one function's calls may keep. */
  keep: KeepBound;
  /** A finished call is deleted this long after it finished. */
  retentionMs: number;
  /** A dead letter is deleted this long after it failed. */
  deadLetterRetentionMs: number;
}

export function workerSettings(config: Pick<Config, 'async' | 'limits'>): WorkerSettings {
  return {
    retryBaseMs: config.async.retryBaseMs,
    concurrency: config.async.concurrency,
    keep: keepBound(config.limits.asyncMaxBytes),
    retentionMs: config.limits.asyncRetentionMs,
    deadLetterRetentionMs: config.limits.asyncDeadLetterRetentionMs,
  };
}

/** Attempts in all before a call is dead-lettered: one and two retries, as AWS Lambda does. */
const MAX_ATTEMPTS = 3;
/** How often the workers look for calls whose backoff is over. */
const POLL_MS = 200;
/** How often finished calls past their age are looked for, at most and at least. */
const SWEEP_MIN_MS = 1_000;
const SWEEP_MAX_MS = 60_000;

export function createQueueWorkers(deps: Pick<Deps, 'store' | 'dispatch' | 'pool' | 'log'>, options: { settings: WorkerSettings; log: PlatformLog }): QueueWorkers {
  const { settings } = options;
  const running = new Map<string, number>();
  const inFlight = new Set<Promise<void>>();
  let poller: NodeJS.Timeout | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let stopped = false;

  const limitOf = (fn: string): number => {
    const spec = deps.pool.spec(fn);
    return Math.max(1, Math.min(settings.concurrency, spec ? spec.maxInstances * spec.concurrency : 1));
  };

  const pump = (fn: string): void => {
    while (!stopped && (running.get(fn) ?? 0) < limitOf(fn)) {
      const call = deps.store.invocations.take(fn, Date.now());
      if (!call) return;
      running.set(fn, (running.get(fn) ?? 0) + 1);
      const work = execute(call).finally(() => {
        running.set(fn, (running.get(fn) ?? 1) - 1);
        inFlight.delete(work);
        pump(fn);
      });
      inFlight.add(work);
    }
  };

  /** After a call finished: the function back within its bound (the oldest dead letters past their share are logged). */
  const trim = (fn: string, version: number | null): void => {
    try {
      const pruned = deps.store.invocations.trim(fn, settings.keep);
      for (const id of pruned.deadLetters) options.log(fn, version, `dead letter ${id} deleted: the dead letters passed their share of LAMBDA_ASYNC_MAX_BYTES`);
    } catch (error) {
      deps.log(warnLine(`pruning ${fn}'s async calls failed: ${(error as Error).message}`));
    }
  };

  /** Finished calls and dead letters past their age go; the file gives back what that freed. */
  const sweep = (): void => {
    try {
      const now = Date.now();
      const expired = deps.store.invocations.expire(now - settings.retentionMs, now - settings.deadLetterRetentionMs);
      for (const { fn, id } of expired.deadLetters) options.log(fn, deps.store.versions.live(fn)?.number ?? null, `dead letter ${id} deleted: older than LAMBDA_ASYNC_DLQ_RETENTION`);
      if (expired.finished + expired.deadLetters.length > 0) deps.store.invocations.compact();
    } catch (error) {
      // A busy database is not worth stopping the server for: the next sweep tries again.
      deps.log(warnLine(`pruning old async calls failed: ${(error as Error).message}`));
    }
  };

  const execute = async (call: InvocationRecord): Promise<void> => {
    const version = deps.store.versions.live(call.fn)?.number ?? null;
    try {
      await attempt(call, version);
    } finally {
      trim(call.fn, version);
    }
  };

  const attempt = async (call: InvocationRecord, version: number | null): Promise<void> => {
    try {
      const result = await run(call);
      deps.store.invocations.succeed(call.id, result.slice(0, KEPT_CHARS), Date.now());
    } catch (error) {
      // Kept, and logged, within a bound: a handler's error message may be of any length.
      const failure = (error instanceof Error ? error.message : String(error)).slice(0, KEPT_CHARS);
      // Queued without a key while the function was public; it has `auth: key` now. Running it later, or again, would
      // let an anonymous caller reach the protected version: it fails at once, not retried.
      if (error instanceof LambdaError && error.code === 'LAMBDA_ERR_FUNCTION_KEY_REQUIRED') {
        const why = `LAMBDA_ERR_FUNCTION_KEY_REQUIRED: queued without an API token, and the function now requires a key (${failure}); not run`;
        deps.store.invocations.fail(call.id, why.slice(0, KEPT_CHARS), null, Date.now());
        options.log(call.fn, version, `async invocation ${call.id} failed: ${why}`);
        return;
      }
      // A function at its maxInstances refused the call before running it: not an attempt, try again shortly.
      if (error instanceof LambdaError && error.code === 'LAMBDA_ERR_TOO_MANY_REQUESTS' && !stopped) {
        deps.store.invocations.putBack(call.id, Date.now() + POLL_MS);
        return;
      }
      if (call.attempts < MAX_ATTEMPTS) {
        const delay = settings.retryBaseMs * 2 ** (call.attempts - 1);
        deps.store.invocations.fail(call.id, failure, Date.now() + delay, Date.now());
        options.log(call.fn, version, `async invocation ${call.id} attempt ${call.attempts} failed: ${failure}; retrying in ${delay} ms`);
      } else {
        deps.store.invocations.fail(call.id, failure, null, Date.now());
        options.log(call.fn, version, `async invocation ${call.id} failed ${call.attempts} times: moved to the dead-letter list (${failure})`);
      }
    }
  };

  const run = async (call: InvocationRecord): Promise<string> => {
    // Every attempt runs under the invocation id (as AWS does): the id the caller was given is the RequestId in the logs.
    if (call.kind === 'event') return (await invoke(deps, { name: call.fn, payload: call.payload, requestId: call.id, trigger: 'async' })).payload;
    // A public HTTP call: sent as it came, so the handler gets its API Gateway event; a 5xx answer is a failure.
    const request = JSON.parse(call.payload) as QueuedHttpRequest;
    // A call stored before calls recorded their key counts as keyless: the safe reading.
    const keyless = request.keyed !== true;
    if (keyless && deps.pool.spec(call.fn)?.auth === 'key') throw new LambdaError('LAMBDA_ERR_FUNCTION_KEY_REQUIRED', { name: call.fn });
    const body = Buffer.from(request.body, 'base64');
    const response = await deps.dispatch.request(call.fn, {
      method: request.method,
      path: request.path,
      headers: { ...request.headers, [REQUEST_ID_HEADER]: call.id },
      body: body.length > 0 ? body : undefined,
      keyless,
      trigger: 'async',
    });
    // A handler that threw: the shim tells the host (never a public caller) its error, which the dead letter keeps.
    if (response.headers[ERROR_HEADER]) throw functionError(response.body);
    // Escaped as every error text is: the dead letter is shown in a terminal, and the body is the function's to choose.
    if (response.statusCode >= 500) throw new Error(`HTTP ${response.statusCode}: ${escapeControl(response.body.slice(0, 500))}`);
    return response.body;
  };

  const poll = (): void => {
    for (const fn of deps.store.invocations.dueFunctions(Date.now())) pump(fn);
  };

  return {
    start() {
      const requeued = deps.store.invocations.requeueRunning();
      if (requeued > 0) deps.log(stepLine(`Requeued ${requeued} async invocations the last run had taken`));
      poller = setInterval(poll, POLL_MS);
      const every = Math.min(SWEEP_MAX_MS, Math.max(SWEEP_MIN_MS, Math.floor(Math.min(settings.retentionMs, settings.deadLetterRetentionMs) / 4)));
      sweeper = setInterval(sweep, every);
      sweep();
      poll();
    },
    notify(fn) {
      if (!stopped) pump(fn);
    },
    async stop(graceMs = 30_000) {
      stopped = true;
      clearInterval(poller);
      clearInterval(sweeper);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    },
  };
}
