// The async verbs: queue a call (`invoke --async`, `X-Lambda-Invocation-Type: Event`), list calls and
// dead letters, replay a dead letter. The workers that run queued calls are in server/queue/workers.ts.
import { randomUUID } from 'node:crypto';
import { LambdaError } from '../errors.js';
import type { InvocationRecord, InvocationStatus, KeepBound, QueueStats } from '../store/types.js';
import type { Deps } from '../functions/deps.js';
import { assertFunctionName } from '../functions/names.js';

/** A public HTTP request kept for later: the worker sends it to the function as it came. */
export interface QueuedHttpRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  /** base64 */
  body: string;
  /**
   * True when it carried a valid API token (its function had `auth: key` then); absent or false: it came without
   * one, so it may not run on a version that has `auth: key` by the time a worker takes it.
   */
  keyed?: boolean;
}

export interface InvocationSummary {
  id: string;
  status: InvocationStatus;
  kind: InvocationRecord['kind'];
  attempts: number;
  /** The JSON event (for an HTTP call: its method, path, headers and body). */
  payload: unknown;
  error: string | null;
  result: string | null;
  replayOf: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/** What a worker keeps of a result or an error, in characters. */
export const KEPT_CHARS = 4096;

/**
 * The bound on what `maxBytes` lets one function keep. Dead letters may hold a quarter of it (the oldest go first
 * beyond), so a flood of new calls never pushes them out and they never crowd out new calls; each waiting call
 * counts with room for the result it will get (KEPT_CHARS, at most 3 UTF-8 bytes each), so finishing one never
 * passes the bound.
 */
export function keepBound(maxBytes: number): KeepBound {
  return { maxBytes, deadLetterBytes: Math.floor(maxBytes / 4), reserveBytes: KEPT_CHARS * 3 };
}
const INVOCATION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LIST_LIMIT = 100;
const INVOCATION_STATUSES: readonly InvocationStatus[] = ['queued', 'running', 'succeeded', 'failed', 'replayed'];

/**
 * Queues a call of `name` durably and returns its id at once; a worker runs it (at least once) with retries.
 * `payload` is JSON text (empty: null) or, for `kind: 'http'`, a public request.
 * Throws LAMBDA_ERR_INVALID_NAME, LAMBDA_ERR_FUNCTION_NOT_FOUND, LAMBDA_ERR_BAD_PAYLOAD, LAMBDA_ERR_QUEUE_FULL.
 */
export function enqueueInvocation(
  deps: Pick<Deps, 'store' | 'background'>,
  input: { name: string; payload: string } | { name: string; request: QueuedHttpRequest },
): { invocationId: string } {
  const name = assertFunctionName(input.name);
  if (!deps.store.functions.get(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
  let kind: InvocationRecord['kind'];
  let payload: string;
  if ('request' in input) {
    kind = 'http';
    payload = JSON.stringify(input.request);
  } else {
    kind = 'event';
    payload = input.payload.trim() === '' ? 'null' : input.payload;
    try {
      JSON.parse(payload);
    } catch (error) {
      throw new LambdaError('LAMBDA_ERR_BAD_PAYLOAD', { detail: (error as Error).message });
    }
  }
  const max = deps.background.queueMax;
  const depth = deps.store.invocations.waiting(name);
  if (depth >= max) throw new LambdaError('LAMBDA_ERR_QUEUE_FULL', { name, depth });
  const now = Date.now();
  const id = randomUUID();
  const record: InvocationRecord = { id, fn: name, kind, payload, status: 'queued', attempts: 0, error: null, result: null, replayOf: null, createdAt: now, runAfter: now, finishedAt: null };
  // Waiting calls and dead letters are never deleted to make room: a call that would pass the bound is refused.
  if (!deps.store.invocations.admit(record, boundOf(deps))) throw new LambdaError('LAMBDA_ERR_QUEUE_FULL', { name, depth });
  deps.background.queued(name);
  return { invocationId: id };
}

/**
 * `name`'s async calls, newest first (at most 100), optionally of one status, and its queue's depth and oldest waiting call.
 * Throws LAMBDA_ERR_INVALID_NAME, LAMBDA_ERR_FUNCTION_NOT_FOUND, LAMBDA_ERR_BAD_REQUEST (an unknown status).
 */
export function listInvocations(deps: Pick<Deps, 'store'>, input: { name: string; status?: string }): { invocations: InvocationSummary[]; queue: QueueSummary } {
  const name = assertFunctionName(input.name);
  if (!deps.store.functions.get(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
  let status: InvocationStatus | undefined;
  if (input.status !== undefined && input.status !== '') {
    if (!(INVOCATION_STATUSES as readonly string[]).includes(input.status)) {
      throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `status: expected one of ${INVOCATION_STATUSES.join(', ')}, got ${JSON.stringify(input.status.slice(0, 40))}` });
    }
    status = input.status as InvocationStatus;
  }
  return { invocations: deps.store.invocations.list(name, status, LIST_LIMIT).map(summary), queue: queueOf(deps, name) };
}

/** The dead-letter list: calls that failed every attempt, with error, attempts and payload. Same errors as listInvocations. */
export function listDeadLetters(deps: Pick<Deps, 'store'>, input: { name: string }): InvocationSummary[] {
  return listInvocations(deps, { name: input.name, status: 'failed' }).invocations;
}

/**
 * Queues a dead letter's payload again as a new call (attempts from zero); the dead letter is marked replayed.
 * Throws LAMBDA_ERR_INVALID_NAME, LAMBDA_ERR_FUNCTION_NOT_FOUND, LAMBDA_ERR_INVOCATION_NOT_FOUND, LAMBDA_ERR_QUEUE_FULL.
 */
export function replayDeadLetter(deps: Pick<Deps, 'store' | 'background'>, input: { name: string; id: string }): { invocationId: string; replayOf: string } {
  const name = assertFunctionName(input.name);
  if (!deps.store.functions.get(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
  const id = String(input.id);
  const dead = INVOCATION_ID.test(id) ? deps.store.invocations.get(name, id) : undefined;
  const notFound = () => new LambdaError('LAMBDA_ERR_INVOCATION_NOT_FOUND', { name, what: 'dead-lettered', id: JSON.stringify(id.slice(0, 40)) });
  if (!dead || dead.status !== 'failed') throw notFound();
  const now = Date.now();
  const copy: InvocationRecord = { ...dead, id: randomUUID(), status: 'queued', attempts: 0, error: null, result: null, replayOf: id, createdAt: now, runAfter: now, finishedAt: null };
  const replayed = deps.store.invocations.replay(name, id, copy, boundOf(deps));
  if (replayed === 'full') throw new LambdaError('LAMBDA_ERR_QUEUE_FULL', { name, depth: deps.store.invocations.waiting(name) });
  if (!replayed) throw notFound();
  deps.background.queued(name);
  return { invocationId: copy.id, replayOf: id };
}

/** The bound the server was started with. */
export function boundOf(deps: Pick<Deps, 'background'>): KeepBound {
  return deps.background.keep;
}

export interface QueueSummary {
  /** Calls waiting or running. */
  depth: number;
  /** When the oldest waiting call was queued (ISO), null when none waits. */
  oldestWaiting: string | null;
}

/** Every function's queue, for `lambda list`. */
export function queueSummaries(deps: Pick<Deps, 'store'>): Map<string, QueueSummary> {
  const out = new Map<string, QueueSummary>();
  for (const [fn, stats] of deps.store.invocations.stats()) out.set(fn, toQueue(stats));
  return out;
}

function queueOf(deps: Pick<Deps, 'store'>, fn: string): QueueSummary {
  return queueSummaries(deps).get(fn) ?? { depth: 0, oldestWaiting: null };
}

function toQueue(stats: QueueStats): QueueSummary {
  return { depth: stats.depth, oldestWaiting: stats.oldestWaiting === null ? null : new Date(stats.oldestWaiting).toISOString() };
}

function summary(record: InvocationRecord): InvocationSummary {
  return {
    id: record.id,
    status: record.status,
    kind: record.kind,
    attempts: record.attempts,
    payload: parse(record.payload),
    error: record.error,
    result: record.result,
    replayOf: record.replayOf,
    createdAt: new Date(record.createdAt).toISOString(),
    finishedAt: record.finishedAt === null ? null : new Date(record.finishedAt).toISOString(),
  };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * One async call of `name`, for `lambda invocations N ID`: status, attempts, when it was queued and finished, and the
 * handler's result or the error. Throws LAMBDA_ERR_INVALID_NAME, LAMBDA_ERR_FUNCTION_NOT_FOUND,
 * LAMBDA_ERR_INVOCATION_NOT_FOUND (also for an id of another function).
 */
export function getInvocation(deps: Pick<Deps, 'store'>, input: { name: string; id: string }): InvocationSummary {
  const name = assertFunctionName(input.name);
  if (!deps.store.functions.get(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
  const id = String(input.id);
  const record = INVOCATION_ID.test(id) ? deps.store.invocations.get(name, id) : undefined;
  if (!record) throw new LambdaError('LAMBDA_ERR_INVOCATION_NOT_FOUND', { name, what: 'async', id: JSON.stringify(id.slice(0, 40)) });
  return summary(record);
}
