// The words of metrics, shared by what records them (dispatch, the pool, the queue, the scheduler, the builder) and
// what reports them (`/metrics`, the REST API, `lambda metrics`, the dashboard).

import type { Trigger } from '../store/metric-types.js';

export type { Buckets, MetricMinute, Trigger } from '../store/metric-types.js';
export const TRIGGERS: readonly Trigger[] = ['http', 'direct', 'schedule', 'async'];

/**
 * Why an invocation failed: its handler threw (`handler`), it ran past its timeout (`timeout`), its instance died
 * under it or answered with something that is not HTTP (`crash`; an OOM kill is one).
 */
export type ErrorKind = 'handler' | 'timeout' | 'crash';
export const ERROR_KINDS: readonly ErrorKind[] = ['handler', 'timeout', 'crash'];

/** One invocation as the host saw it: timed by the host from the request's dispatch to its answer's head. */
export interface InvocationSample {
  fn: string;
  version: number;
  trigger: Trigger;
  /** When it was sent (epoch ms). */
  at: number;
  durationMs: number;
  error?: ErrorKind;
  /** Set when this invocation started its instance: how long the instance took to start and become ready. */
  coldStartMs?: number;
  /** From the invocation's REPORT line, when its runtime writes one. */
  maxMemoryMb?: number;
}

/** What `lambda metrics`, the REST API and the dashboard report for a function or one of its versions over a window. */
export interface MetricsSummary {
  invocations: number;
  errors: number;
  /** errors / invocations, 0 when there were none. */
  errorRate: number;
  /** Duration percentiles in ms (estimated from histogram buckets, within about 10%); null without invocations. */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  coldStarts: number;
  throttles: number;
  /** `errors` by kind: the handler threw or answered 5xx, the timeout ran out, the instance crashed. */
  handlerErrors: number;
  timeouts: number;
  crashes: number;
  /** The most memory one invocation reported using (its REPORT line), in MB; null when none reported any. */
  maxMemoryMb: number | null;
}

/** How a build ended: an image was made, or the build failed (the push was rejected). */
export type BuildOutcome = 'success' | 'failure';

/**
 * What became of a cron time: `fired` (the function was called), `skipped` (the previous firing still ran and the
 * schedule says `overlap: skip`), `missed` (the time passed while the server was down or behind; not run late).
 */
export type FiringOutcome = 'fired' | 'skipped' | 'missed';

/**
 * What the server tells metrics as it works. Counting is the host's: dispatch times each invocation and says how it
 * ended; only the memory figure comes from the instance (its REPORT line), so a function lying there changes nothing
 * but its own figure. Every call is cheap and never throws: it runs on the request path.
 */
export interface Metrics {
  /** One invocation that reached an instance (a retry of one that never reached a handler is not another). */
  invocation(sample: InvocationSample): void;
  /** A request refused with a throttle (429) before it ran: not an invocation. */
  throttle(fn: string, version: number, trigger: Trigger, at?: number): void;
  /** An instance's REPORT line: the most memory that invocation used, in MB. */
  memory(fn: string, version: number, maxMemoryMb: number): void;
  /** A build of a commit into an image, and how long it took. */
  build(fn: string, durationMs: number, outcome: BuildOutcome): void;
  /** `count` cron times of one of `fn`'s schedules ended as `outcome`. */
  scheduleFiring(fn: string, outcome: FiringOutcome, count?: number): void;
  /** `fn` was deleted: its rows and series go. */
  functionDeleted(fn: string): void;
  /** These versions of `fn` had their images pruned: their series go (their rows stay, within the retention). */
  versionsPruned(fn: string, versions: number[]): void;
}

/** Metrics turned off (`LAMBDA_METRICS=off`), and parts of the server that are given none: every call does nothing. */
export const NO_METRICS: Metrics = {
  invocation: () => {},
  throttle: () => {},
  memory: () => {},
  build: () => {},
  scheduleFiring: () => {},
  functionDeleted: () => {},
  versionsPruned: () => {},
};
