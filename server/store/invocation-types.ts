// The records of async invocations, and the Store's queries over them.

export type InvocationStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'replayed';

export interface InvocationRecord {
  id: string;
  fn: string;
  /** `event`: the payload is the JSON event; `http`: a public HTTP request kept as JSON (method, path, headers, body). */
  kind: 'event' | 'http';
  payload: string;
  status: InvocationStatus;
  /** Attempts started so far. */
  attempts: number;
  error: string | null;
  result: string | null;
  /** For a replay: the dead-lettered invocation it repeats. */
  replayOf: string | null;
  createdAt: number;
  /** Not taken before this time (ms): retries wait their backoff. */
  runAfter: number;
  finishedAt: number | null;
}

export interface QueueStats {
  /** Calls waiting (queued, retries included) or running. */
  depth: number;
  /** When the oldest waiting call was queued (ms), null when none waits. */
  oldestWaiting: number | null;
}

/** How much one function's async calls may keep (docs/functions.md: Async invocations). */
export interface KeepBound {
  /** Payloads, results and errors of all its calls, waiting, finished and dead-lettered, together. */
  maxBytes: number;
  /** Dead letters' share of it: beyond, the oldest are deleted. */
  deadLetterBytes: number;
  /** Counted for each waiting call on top of its payload: the most its kept result or error can add. */
  reserveBytes: number;
}

/** What pruning deleted. */
export interface Pruned {
  finished: number;
  /** Dead letters deleted, for the function's log. */
  deadLetters: string[];
}

export interface InvocationQueries {
  insert(record: InvocationRecord): void;
  get(fn: string, id: string): InvocationRecord | undefined;
  /** Newest first, at most `limit`. */
  list(fn: string, status: InvocationStatus | undefined, limit: number): InvocationRecord[];
  /** Functions with a call due at `now`. */
  dueFunctions(now: number): string[];
  /** Takes `fn`'s next due call: marks it running and counts the attempt, in one statement. */
  take(fn: string, now: number): InvocationRecord | undefined;
  succeed(id: string, result: string, now: number): void;
  /** A failed attempt: back to the queue until `runAfter`, or (runAfter null) dead-lettered. */
  fail(id: string, error: string, runAfter: number | null, now: number): void;
  /** An attempt that did not get to run (the function was busy): back to the queue, not counted. */
  putBack(id: string, runAfter: number): void;
  /** After a restart: calls left running by the last process go back to the queue, their attempt not counted. */
  requeueRunning(): number;
  /**
   * Marks a dead letter replayed and queues its copy, in one transaction; false when `id` is not a dead letter,
   * 'full' (nothing changed) when the copy would pass `bound`.
   */
  replay(fn: string, id: string, copy: InvocationRecord, bound?: KeepBound): boolean | 'full';
  /**
   * Queues `record` if it fits `bound` (waiting calls and dead letters leave room for it), deleting the function's
   * oldest finished calls as needed to keep everything within it; false (nothing changed) when it does not fit.
   */
  admit(record: InvocationRecord, bound: KeepBound): boolean;
  /** Back within `bound` after a call finished: the oldest dead letters past their share, then the oldest finished calls. */
  trim(fn: string, bound: KeepBound): Pruned;
  /** Deletes finished calls finished before `finishedBefore` and dead letters before `deadBefore`. */
  expire(finishedBefore: number, deadBefore: number): { finished: number; deadLetters: { fn: string; id: string }[] };
  /** Gives free pages past a few MiB back to the file system (after pruning). */
  compact(): void;
  /** Bytes `fn`'s calls keep (payloads, results, errors). */
  keptBytes(fn: string): number;
  stats(): Map<string, QueueStats>;
  /** Dead letters kept per function (functions with none are left out). */
  deadLetters(): Map<string, number>;
  waiting(fn: string): number;
}
