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
}
