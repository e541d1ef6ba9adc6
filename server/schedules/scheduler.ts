// Fires cron schedules: one timer per schedule, each firing a direct invoke of the live version (waking a
// function scaled to zero). A cron time is claimed in SQLite before it runs, so it never fires twice (redeploys,
// restarts); one that passed while the server was down is logged as missed, not run late. A few seconds before each
// firing the function's cell is asked for, so the firing's first call is a cell start, not a container boot.
import { invoke } from '../functions/invoke.js';
import { nextCronTime } from './cron.js';
import type { Deps } from '../functions/deps.js';
import type { ScheduleRecord } from '../store/schedule-types.js';
import type { PlatformLog } from '../logs/platform-log.js';
import { NO_METRICS, type Metrics } from '../metrics/types.js';

export interface Scheduler {
  /** Arms every stored schedule (after restore), logging the firings missed while the server was down. */
  start(): void;
  /** `fn`'s schedules changed: arm new ones, cancel removed ones, leave unchanged ones as they are. */
  reload(fn: string): void;
  /** Cancels every timer and waits for firings in flight (at most `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

interface Armed {
  record: ScheduleRecord;
  timer?: NodeJS.Timeout;
  warmTimer?: NodeJS.Timeout;
  running: number;
  cancelled: boolean;
}

/** setTimeout's longest delay; a later firing is re-planned when this one ends. */
const MAX_DELAY = 2 ** 31 - 1;
/** Missed firings logged one by one at most; the rest are counted in one line. */
const MISSED_LINES = 5;
/** A warmed cell is wanted this long after its firing's time, for a firing that runs a little late. */
const WARM_AFTER_MS = 10_000;

export interface SchedulerOptions {
  log: PlatformLog;
  graceMs: number;
  /** How long before a firing its function's cell is asked for (0: never). */
  warmAheadMs?: number;
  /** Asks for a ready cell for `fn`'s live version until `until` (ms since the epoch); the pool may decline. */
  warm?(fn: string, until: number): void;
}

/** `metrics`: what became of each cron time (fired, skipped, missed). */
export function createScheduler(deps: Pick<Deps, 'store' | 'dispatch'> & { metrics?: Pick<Metrics, 'scheduleFiring'> }, options: SchedulerOptions): Scheduler {
  const metrics = deps.metrics ?? NO_METRICS;
  const armed = new Map<string, Armed>();
  const inFlight = new Set<Promise<void>>();
  let started = false;
  let stopped = false;
  const versionOf = (fn: string) => deps.store.versions.live(fn)?.number ?? null;
  const describe = (record: ScheduleRecord) => `schedule ${record.id} (cron "${record.cron}")`;

  /** Cron times after `from` that are already past the grace: claimed as missed, logged; returns the next time to wait for. */
  const skipMissed = (state: Armed, from: number): number | undefined => {
    const { record } = state;
    const now = Date.now();
    const missed: number[] = [];
    let next = nextCronTime(record.cron, from);
    while (next !== undefined && next < now - options.graceMs) {
      missed.push(next);
      // A schedule left for years would take forever to walk: jump to now, counting what was jumped as one line.
      if (missed.length >= 10_000) {
        next = nextCronTime(record.cron, now - options.graceMs);
        break;
      }
      next = nextCronTime(record.cron, next);
    }
    const last = missed.at(-1);
    if (last !== undefined && deps.store.schedules.claim(record.id, last)) {
      metrics.scheduleFiring(record.fn, 'missed', missed.length);
      const version = versionOf(record.fn);
      for (const time of missed.slice(0, MISSED_LINES)) options.log(record.fn, version, `${describe(record)} missed its firing at ${iso(time)}: the server was not running or was behind; not run late`);
      if (missed.length > MISSED_LINES) options.log(record.fn, version, `${describe(record)} missed ${missed.length - MISSED_LINES} more firings, up to ${iso(last)}`);
    }
    return next;
  };

  const plan = (state: Armed, from: number): void => {
    if (state.cancelled || stopped) return;
    const next = skipMissed(state, from);
    if (next === undefined) return;
    const delay = next - Date.now();
    const warmAhead = options.warmAheadMs ?? 0;
    if (options.warm && warmAhead > 0 && delay <= MAX_DELAY) {
      const { warm } = options;
      clearTimeout(state.warmTimer);
      state.warmTimer = setTimeout(() => {
        if (!state.cancelled && !stopped) warm(state.record.fn, next + WARM_AFTER_MS);
      }, Math.max(0, delay - warmAhead));
    }
    state.timer = setTimeout(() => (delay > MAX_DELAY ? plan(state, from) : fire(state, next)), Math.max(0, Math.min(delay, MAX_DELAY)));
  };

  const fire = (state: Armed, time: number): void => {
    if (state.cancelled || stopped) return;
    const { record } = state;
    // The claim is the one guard against a double firing: whatever timers exist, one cron time runs once.
    const mine = deps.store.schedules.claim(record.id, time);
    // Gone from the store (its function deleted): nothing more to fire.
    if (!mine && !deps.store.schedules.get(record.fn, record.id)) {
      cancel(state);
      return;
    }
    plan(state, time);
    if (!mine) return;
    const version = versionOf(record.fn);
    if (record.overlap === 'skip' && state.running > 0) {
      metrics.scheduleFiring(record.fn, 'skipped');
      options.log(record.fn, version, `${describe(record)} skipped its firing at ${iso(time)}: the previous firing is still running (overlap: skip)`);
      return;
    }
    state.running += 1;
    metrics.scheduleFiring(record.fn, 'fired');
    const firedAt = Date.now();
    options.log(record.fn, version, `${describe(record)} fired for ${iso(time)} (${firedAt - time} ms after its time)`);
    const payload = record.payload ?? JSON.stringify(scheduledEvent(record, time));
    const run = invoke(deps, { name: record.fn, payload, trigger: 'schedule' }).then(
      () => options.log(record.fn, version, `${describe(record)} firing for ${iso(time)} succeeded in ${Date.now() - firedAt} ms`),
      (error: unknown) => options.log(record.fn, version, `${describe(record)} firing for ${iso(time)} failed: ${error instanceof Error ? error.message : String(error)}`),
    );
    const tracked = run.finally(() => {
      state.running -= 1;
      inFlight.delete(tracked);
    });
    inFlight.add(tracked);
  };

  const arm = (record: ScheduleRecord): void => {
    const state: Armed = { record, running: 0, cancelled: false };
    armed.set(record.id, state);
    plan(state, record.lastFired);
  };

  const cancel = (state: Armed): void => {
    state.cancelled = true;
    clearTimeout(state.timer);
    clearTimeout(state.warmTimer);
    armed.delete(state.record.id);
  };

  return {
    start() {
      started = true;
      for (const record of deps.store.schedules.listAll()) arm(record);
    },
    reload(fn) {
      if (!started || stopped) return;
      const records = deps.store.schedules.list(fn);
      const ids = new Set(records.map((record) => record.id));
      for (const state of [...armed.values()]) if (state.record.fn === fn && !ids.has(state.record.id)) cancel(state);
      for (const record of records) if (!armed.has(record.id)) arm(record);
    },
    async stop(graceMs = 30_000) {
      stopped = true;
      for (const state of [...armed.values()]) cancel(state);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    },
  };
}

/** The event a schedule without a payload sends (EventBridge's Scheduled Event, trimmed). */
export function scheduledEvent(record: Pick<ScheduleRecord, 'id' | 'cron'>, time: number) {
  return { source: 'lambda.schedule', 'detail-type': 'Scheduled Event', time: iso(time), detail: { schedule: record.id, cron: record.cron } };
}

/** EventBridge's time format: whole seconds, UTC. */
function iso(time: number): string {
  return new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
