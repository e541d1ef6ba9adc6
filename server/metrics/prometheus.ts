// Prometheus' series (prom-client, a registry of its own): counters and histograms told as the server works, seeded
// from the per-minute rows at start; gauges of instances, cells, queues and dead letters read at scrape time.
import client from 'prom-client';
import type { QueueStats } from '../store/invocation-types.js';
import type { MetricTotals } from '../store/metric-types.js';
import { ERROR_KINDS, type Metrics, type Trigger } from './types.js';

/** What the gauges read at scrape time. */
export interface ScrapeSources {
  /** Every function that exists (its queue gauges read 0 rather than vanish). */
  functions(): string[];
  /** The pool's instances per function: `running` includes the `frozen` ones. */
  instances(): Record<string, { running: number; frozen: number; starting: number }>;
  queues(): Map<string, QueueStats>;
  deadLetters(): Map<string, number>;
  /** The cell pool per runtime: cells ready, booting, and how many it wants ready now (its size). */
  cells?(): Record<string, { ready: number; starting: number; size: number }>;
  /** Request body bytes being received now, held against LAMBDA_BODY_BUDGET (absent: 0). */
  bodyBytes?(): number;
  /** Client connections open to the HTTP listener, byte path and Node's path together (absent: 0). */
  connections?(): Promise<number>;
}

export interface Prometheus extends Metrics {
  /** Adds the stored rows to the counters (at start, so a scrape after a restart reads the same totals). */
  seed(rows: MetricTotals[]): void;
  /** The exposition, Prometheus' text format. */
  text(): Promise<string>;
  readonly contentType: string;
}

/**
 * Invocation durations, in seconds: powers of two from 2 ms, each also a bound of the per-minute rows' finer buckets
 * (server/metrics/buckets.ts), so both count a duration on the same side of every bound here.
 */
export const DURATION_BUCKETS = [0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 4.096, 16.384];
/** Cold starts, in seconds: a start from a cell takes milliseconds, a container boot about a second. */
export const COLD_START_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Builds, in seconds: a cached build takes seconds, a first one with dependencies minutes. */
export const BUILD_BUCKETS = [1, 2.5, 5, 10, 30, 60, 120, 300, 600];

const MB = 1024 * 1024;

export function createPrometheus(sources: ScrapeSources, now: () => number = Date.now): Prometheus {
  const registry = new client.Registry();
  const registers = [registry];
  const invocations = new client.Counter({ name: 'lambda_invocations_total', help: 'Invocations that reached an instance, by trigger (http, direct, schedule, async).', labelNames: ['function', 'version', 'trigger'] as const, registers });
  const errors = new client.Counter({ name: 'lambda_errors_total', help: 'Invocations that failed, by kind: handler (threw, or a status of 500 and up), timeout, crash (the instance died or answered garbage).', labelNames: ['function', 'version', 'trigger', 'kind'] as const, registers });
  const throttles = new client.Counter({ name: 'lambda_throttles_total', help: 'Requests refused with 429 because every instance was busy and the wait queue full or too slow; not invocations.', labelNames: ['function', 'version', 'trigger'] as const, registers });
  const coldStarts = new client.Counter({ name: 'lambda_cold_starts_total', help: 'Invocations that waited for a new instance to start (from a cell or a container).', labelNames: ['function', 'version'] as const, registers });
  const coldStartSeconds = new client.Histogram({ name: 'lambda_cold_start_duration_seconds', help: 'How long each cold start took, from asking for the instance to its being ready.', labelNames: ['function'] as const, buckets: COLD_START_BUCKETS, registers });
  const durationSeconds = new client.Histogram({ name: 'lambda_invocation_duration_seconds', help: "Invocation duration as the host timed it: from sending the request to the answer's head (or the failure).", labelNames: ['function', 'version'] as const, buckets: DURATION_BUCKETS, registers });
  const maxMemory = new client.Gauge({ name: 'lambda_max_memory_used_bytes', help: 'The most memory one invocation of the version reported using (its REPORT line).', labelNames: ['function', 'version'] as const, registers });
  const firings = new client.Counter({ name: 'lambda_schedule_firings_total', help: 'Cron times of schedules: fired, skipped (the previous still ran, overlap: skip), missed (the server was down).', labelNames: ['function', 'outcome'] as const, registers });
  const builds = new client.Counter({ name: 'lambda_builds_total', help: 'Builds of a commit into an image, by outcome (success, failure).', labelNames: ['function', 'outcome'] as const, registers });
  const buildSeconds = new client.Histogram({ name: 'lambda_build_duration_seconds', help: 'How long each build took.', labelNames: ['function'] as const, buckets: BUILD_BUCKETS, registers });
  new client.Gauge({
    name: 'lambda_instances',
    help: 'Instances per function, by state: running (serving or idle), frozen (paused between requests), starting.',
    labelNames: ['function', 'state'] as const,
    registers,
    collect() {
      this.reset();
      for (const [fn, counts] of Object.entries(sources.instances())) {
        this.set({ function: fn, state: 'running' }, counts.running - counts.frozen);
        this.set({ function: fn, state: 'frozen' }, counts.frozen);
        this.set({ function: fn, state: 'starting' }, counts.starting);
      }
    },
  });
  new client.Gauge({
    name: 'lambda_cells',
    help: 'Pre-started cells per runtime, by state: ready (waiting for a cold start), starting (booting), wanted (what recent demand sizes the pool to).',
    labelNames: ['runtime', 'state'] as const,
    registers,
    collect() {
      this.reset();
      for (const [runtime, pool] of Object.entries(sources.cells?.() ?? {})) {
        this.set({ runtime, state: 'ready' }, pool.ready);
        this.set({ runtime, state: 'starting' }, pool.starting);
        this.set({ runtime, state: 'wanted' }, pool.size);
      }
    },
  });
  new client.Gauge({
    name: 'lambda_queue_depth',
    help: 'Async invocations waiting (retries included) or running.',
    labelNames: ['function'] as const,
    registers,
    collect() {
      this.reset();
      const queues = sources.queues();
      for (const fn of sources.functions()) this.set({ function: fn }, queues.get(fn)?.depth ?? 0);
    },
  });
  new client.Gauge({
    name: 'lambda_queue_oldest_age_seconds',
    help: 'How long the oldest waiting async invocation has waited (0 when none waits).',
    labelNames: ['function'] as const,
    registers,
    collect() {
      this.reset();
      const queues = sources.queues();
      const at = now();
      for (const fn of sources.functions()) {
        const oldest = queues.get(fn)?.oldestWaiting;
        this.set({ function: fn }, oldest === null || oldest === undefined ? 0 : Math.max(0, (at - oldest) / 1000));
      }
    },
  });
  new client.Gauge({
    name: 'lambda_dead_letters',
    help: 'Async invocations that failed every attempt and are kept as dead letters.',
    labelNames: ['function'] as const,
    registers,
    collect() {
      this.reset();
      const dead = sources.deadLetters();
      for (const fn of sources.functions()) this.set({ function: fn }, dead.get(fn) ?? 0);
    },
  });
  // What hostile clients can hold at once: both go back down when they leave, which an operator can watch.
  new client.Gauge({
    name: 'lambda_body_bytes_held',
    help: 'Request body bytes held against the body budget (LAMBDA_BODY_BUDGET): bodies being received, and bodies read for requests still waiting or being served.',
    registers,
    collect() {
      this.set(sources.bodyBytes?.() ?? 0);
    },
  });
  new client.Gauge({
    name: 'lambda_client_connections',
    help: 'Client connections open to the HTTP listener now, idle and half-sent ones included.',
    registers,
    async collect() {
      this.set((await sources.connections?.()) ?? 0);
    },
  });

  /** The most memory seen per function version, in bytes (the gauge holds the same). */
  const memorySeen = new Map<string, number>();
  const noteMemory = (fn: string, version: string, mb: number) => {
    const key = `${fn}\0${version}`;
    const bytes = mb * MB;
    if (bytes <= (memorySeen.get(key) ?? -1)) return;
    memorySeen.set(key, bytes);
    maxMemory.set({ function: fn, version }, bytes);
  };

  /**
   * The function versions and triggers counted so far. The first count of one sets its other counters to 0 (each
   * error kind, throttles, invocations; cold starts per version), so an error rate or a throttle rate reads 0 rather
   * than no data; only label sets something was counted for get lines, within the documented worst case.
   */
  const counted = new Set<string>();
  const ensure = (fn: string, version: string, trigger: Trigger) => {
    const key = `${fn}\0${version}\0${trigger}`;
    if (counted.has(key)) return;
    counted.add(key);
    const labels = { function: fn, version, trigger };
    invocations.inc(labels, 0);
    throttles.inc(labels, 0);
    for (const kind of ERROR_KINDS) errors.inc({ ...labels, kind }, 0);
    coldStarts.inc({ function: fn, version }, 0);
  };
  const uncount = (match: (fn: string, version: string) => boolean) => {
    for (const key of counted) {
      const [fn, version] = key.split('\0') as [string, string];
      if (match(fn, version)) counted.delete(key);
    }
  };

  /** Removes every series of the metrics told as the server works whose labels `match`. */
  const removeWhere = async (match: (labels: Partial<Record<string, string | number>>) => boolean) => {
    for (const metric of [invocations, errors, throttles, coldStarts, coldStartSeconds, durationSeconds, maxMemory, firings, builds, buildSeconds] as client.Metric[]) {
      const { values } = await metric.get();
      const seen = new Set<string>();
      for (const { labels } of values) {
        if (!match(labels)) continue;
        // A histogram's bucket lines carry `le` besides the series' own labels.
        const series = Object.fromEntries(Object.entries(labels).filter(([name]) => name !== 'le'));
        const key = JSON.stringify(series);
        if (seen.has(key)) continue;
        seen.add(key);
        (metric as client.Counter).remove(series as Record<string, string>);
      }
    }
  };
  const forget = (match: (labels: Partial<Record<string, string | number>>) => boolean) => {
    removeWhere(match).catch(() => {});
  };

  return {
    invocation(sample) {
      const version = String(sample.version);
      ensure(sample.fn, version, sample.trigger);
      invocations.inc({ function: sample.fn, version, trigger: sample.trigger });
      if (sample.error) errors.inc({ function: sample.fn, version, trigger: sample.trigger, kind: sample.error });
      durationSeconds.observe({ function: sample.fn, version }, sample.durationMs / 1000);
      if (sample.coldStartMs !== undefined) {
        coldStarts.inc({ function: sample.fn, version });
        coldStartSeconds.observe({ function: sample.fn }, sample.coldStartMs / 1000);
      }
      if (sample.maxMemoryMb !== undefined) noteMemory(sample.fn, version, sample.maxMemoryMb);
    },
    throttle(fn, version, trigger) {
      ensure(fn, String(version), trigger);
      throttles.inc({ function: fn, version: String(version), trigger });
    },
    memory(fn, version, mb) {
      noteMemory(fn, String(version), mb);
    },
    build(fn, durationMs, outcome) {
      builds.inc({ function: fn, outcome });
      buildSeconds.observe({ function: fn }, durationMs / 1000);
    },
    scheduleFiring(fn, outcome, count = 1) {
      firings.inc({ function: fn, outcome }, count);
    },
    functionDeleted(fn) {
      for (const key of memorySeen.keys()) if (key.startsWith(`${fn}\0`)) memorySeen.delete(key);
      uncount((name) => name === fn);
      forget((labels) => labels.function === fn);
    },
    versionsPruned(fn, versions) {
      const gone = new Set(versions.map(String));
      for (const version of gone) memorySeen.delete(`${fn}\0${version}`);
      uncount((name, version) => name === fn && gone.has(version));
      forget((labels) => labels.function === fn && gone.has(String(labels.version)));
    },
    seed(rows) {
      for (const row of rows) {
        const version = String(row.version);
        const labels = { function: row.fn, version, trigger: row.trigger };
        ensure(row.fn, version, row.trigger);
        if (row.invocations > 0) invocations.inc(labels, row.invocations);
        if (row.throttles > 0) throttles.inc(labels, row.throttles);
        if (row.handlerErrors > 0) errors.inc({ ...labels, kind: 'handler' }, row.handlerErrors);
        if (row.timeouts > 0) errors.inc({ ...labels, kind: 'timeout' }, row.timeouts);
        if (row.crashes > 0) errors.inc({ ...labels, kind: 'crash' }, row.crashes);
        if (row.coldStarts > 0) coldStarts.inc({ function: row.fn, version }, row.coldStarts);
        if (row.maxMemoryMb > 0) noteMemory(row.fn, version, row.maxMemoryMb);
      }
    },
    text: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
