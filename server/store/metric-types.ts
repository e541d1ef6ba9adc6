// The records of invocation metrics (per minute, older ones merged into wider rows), and the Store's queries over them.

/** How an invocation came: public HTTP traffic, a direct invoke (`lambda invoke`, REST), a cron schedule, the async queue. */
export type Trigger = 'http' | 'direct' | 'schedule' | 'async';

/** A duration histogram, sparse: bucket index (server/metrics/buckets.ts) → count. */
export type Buckets = Record<number, number>;

/** One function version's invocations by one trigger in one minute. Counts add up when rows of the same key merge. */
export interface MetricMinute {
  fn: string;
  version: number;
  /** The row's start (a minute's, or a wider row's), epoch ms. */
  minute: number;
  /** How many ms from `minute` the row covers: a minute when absent (what the recorder writes); older rows are wider. */
  width?: number;
  trigger: Trigger;
  invocations: number;
  handlerErrors: number;
  timeouts: number;
  crashes: number;
  throttles: number;
  coldStarts: number;
  /** Sum of the cold starts' start times, ms. */
  coldStartMs: number;
  /** Sum of durations, ms. */
  durationMs: number;
  /** The most memory one invocation reported using, MB (0 when none reported). */
  maxMemoryMb: number;
  /** Duration histogram (server/metrics/buckets.ts). */
  buckets: Buckets;
}

/** A function version's counts by one trigger summed over many minutes (no histogram). */
export type MetricTotals = Omit<MetricMinute, 'minute' | 'buckets'>;

export interface MetricQueries {
  /** Adds each row's counts to the stored row of the same function, version, minute and trigger. */
  add(rows: MetricMinute[]): void;
  /** Rows with `since <= minute < until`, of one function when `fn` is given, oldest first. */
  list(filter: { since: number; until?: number; fn?: string }): MetricMinute[];
  /** Each function version and trigger's counts summed over the minutes from `since` on (max memory: the most). */
  totals(since: number): MetricTotals[];
  /**
   * Merges the rows narrower than `width` that start in `from <= minute < before` (both multiples of `width`) into
   * one row per `width` of each function version and trigger, starting on a multiple of `width`; a wider row already
   * at that start takes them in. Counts and sums add, max memory keeps the most, histograms merge. Runs in one
   * transaction per day of rows; running it again changes nothing. Returns how many rows were merged away.
   */
  compact(width: number, from: number, before: number): number;
  /** Removes rows starting before `before`; returns how many. */
  prune(before: number): number;
  /** Removes every row of `fn` (it was deleted). */
  dropFunction(fn: string): void;
}
