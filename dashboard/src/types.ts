// The shapes of the REST API's answers the pages read (docs/api.md).
import type { MetricsPoint } from './format.js';
import type { MetricsSummary } from '../../server/metrics/types.js';

export interface Instances {
  /** Every instance with a container, frozen ones included. */
  running: number;
  frozen?: number;
  starting: number;
  busy: number;
}

export interface FunctionSummary {
  name: string;
  url: string;
  live: { version: number; sha: string; image: string; deployedAt: string } | null;
  queue: { depth: number; oldestWaiting: string | null };
  instances?: Instances;
}

/** A function's or a version's figures over a window, as the API gives them: the server's own type. */
export type Totals = MetricsSummary;

export interface FunctionMetrics extends Totals {
  name: string;
  liveVersion?: number | null;
  series?: MetricsPoint[];
  versions?: (Totals & { version: number })[];
}

export interface MetricsReport {
  since: string;
  until: string;
  step: string | null;
  functions: FunctionMetrics[];
}

export interface Version {
  version: number;
  sha: string;
  message: string;
  author: string;
  createdAt: string;
  live: boolean;
  imageKept: boolean;
}

export interface Release {
  id: number;
  kind: string;
  fromVersion: number | null;
  toVersion: number | null;
  who: string | null;
  detail: string | null;
  createdAt: string;
}

export interface EnvView {
  name: string;
  vars: Record<string, string>;
  manifest: Record<string, string>;
  revealed: boolean;
}

export interface Schedule {
  id: string;
  source: string;
  cron: string;
  payload: unknown;
  overlap: string;
  createdAt: string;
  lastFired: string | null;
}

export interface Invocation {
  id: string;
  status: string;
  kind: string;
  attempts: number;
  payload: unknown;
  error: unknown;
  result: unknown;
  replayOf: string | null;
  createdAt: string;
  finishedAt: string | null;
}
