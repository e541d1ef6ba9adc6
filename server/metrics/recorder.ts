// The recorder the server is given: the per-minute rollups and Prometheus' series behind one Metrics, `/metrics`, and
// their start (prune, then seed the counters from the rows kept) and stop (the last rows written); or, with metrics
// off, nothing counted.
import type http from 'node:http';
import type { Store } from '../store/types.js';
import { createPrometheus, type ScrapeSources } from './prometheus.js';
import { createRollup, fanOut, type Rollup } from './rollup.js';
import { compactTiers } from './tiers.js';
import { NO_METRICS, type MetricMinute, type Metrics } from './types.js';
import { metricsEndpoint } from './endpoint.js';

export interface RecorderOptions {
  /** LAMBDA_METRICS. */
  enabled: boolean;
  /** LAMBDA_METRICS_RETENTION. */
  retentionMs: number;
  store: Pick<Store, 'metrics'>;
  sources: ScrapeSources;
  /** The check of `/metrics`' API token (see endpoint.ts). */
  verify(req: http.IncomingMessage): Promise<boolean>;
  /** False for a version whose series are gone (its image pruned): its stored rows do not seed the counters. */
  keepVersion(fn: string, version: number): boolean;
  warn?(line: string): void;
  now?: () => number;
}

export interface Recorder {
  /** What the rest of the server tells. */
  metrics: Metrics;
  /** `GET /metrics`; undefined when metrics are off (the listener answers 404). */
  endpoint?: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;
  /** Rows of the minutes under way, not yet in SQLite (none when metrics are off). */
  pending(): MetricMinute[];
  /** Prunes old rows and seeds the counters from the rest; then rows are written every few seconds. */
  start(): void;
  /** Writes the rows still in memory (the server's clean stop). */
  close(): void;
}

export function createRecorder(options: RecorderOptions): Recorder {
  const { store } = options;
  const now = options.now ?? Date.now;
  if (!options.enabled) {
    // Nothing is counted, but rows an earlier start kept still go with their function and their age.
    return {
      metrics: { ...NO_METRICS, functionDeleted: (fn) => store.metrics.dropFunction(fn) },
      pending: () => [],
      start: () => {
        store.metrics.prune(now() - options.retentionMs);
        compactTiers(store.metrics, now());
      },
      close: () => {},
    };
  }
  const rollup: Rollup = createRollup(store.metrics, { retentionMs: options.retentionMs, now, warn: options.warn });
  const prometheus = createPrometheus(options.sources, now);
  return {
    metrics: fanOut(rollup, prometheus),
    endpoint: metricsEndpoint(prometheus, options.verify),
    pending: () => rollup.pending(),
    start() {
      rollup.start();
      prometheus.seed(store.metrics.totals(now() - options.retentionMs).filter((row) => options.keepVersion(row.fn, row.version)));
    },
    close: () => rollup.close(),
  };
}
