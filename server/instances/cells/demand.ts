// How many cells each runtime should keep ready, from what it was recently asked: the largest burst of cold starts
// seen in the last minutes and the cells schedules reserved ahead of their firings, never below the floor. Pure:
// the clock is given.
export interface DemandOptions {
  /** Ready cells per runtime at rest (LAMBDA_CELLS). */
  floor: number;
  /** How far back a burst is remembered. */
  windowMs?: number;
  /** Cold starts this close together count as one burst. */
  burstMs?: number;
  now?: () => number;
}

export interface Demand {
  /** A cold start of `runtime` was asked for now. */
  coldStart(runtime: string): void;
  /**
   * One cell of `runtime` is wanted ready for `key` (a function whose schedule fires soon) until `until`. A key holds
   * one reservation at a time, the latest: a schedule firing every second wants one cell, not one per firing.
   */
  reserve(runtime: string, key: string, until: number): void;
  /** Ready cells `runtime` should have now: the floor, the largest recent burst or the live reservations, whichever is most. */
  wanted(runtime: string): number;
}

/** Remembered cold starts and reservations per runtime: a flood of them costs at most this much memory. */
export const MAX_REMEMBERED = 4096;
export const DEFAULT_WINDOW_MS = 5 * 60_000;
export const DEFAULT_BURST_MS = 2_000;

export function createDemand(options: DemandOptions): Demand {
  const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  const burstMs = options.burstMs ?? DEFAULT_BURST_MS;
  const now = options.now ?? Date.now;
  const starts = new Map<string, number[]>();
  const reservations = new Map<string, Map<string, number>>();

  const listOf = (map: Map<string, number[]>, runtime: string): number[] => {
    let list = map.get(runtime);
    if (!list) {
      list = [];
      map.set(runtime, list);
    }
    return list;
  };

  /** Keeps the times still in force (ascending lists), and at most MAX_REMEMBERED of the newest. */
  const drop = (list: number[], before: number): void => {
    let old = 0;
    while (old < list.length && list[old] < before) old++;
    list.splice(0, Math.max(old, list.length - MAX_REMEMBERED));
  };

  /** The most cold starts within any burstMs of the window (two fingers over the sorted times). */
  const largestBurst = (list: number[]): number => {
    let largest = 0;
    let first = 0;
    for (let last = 0; last < list.length; last++) {
      while (list[last] - list[first] > burstMs) first++;
      largest = Math.max(largest, last - first + 1);
    }
    return largest;
  };

  return {
    coldStart(runtime) {
      const list = listOf(starts, runtime);
      list.push(now());
      drop(list, now() - windowMs);
    },
    reserve(runtime, key, until) {
      let held = reservations.get(runtime);
      if (!held) {
        held = new Map();
        reservations.set(runtime, held);
      }
      held.delete(key);
      held.set(key, until);
      // Insertion order is age: past the bound, the oldest reservations go first.
      for (const oldest of held.keys()) {
        if (held.size <= MAX_REMEMBERED) break;
        held.delete(oldest);
      }
    },
    wanted(runtime) {
      const list = listOf(starts, runtime);
      drop(list, now() - windowMs);
      const held = reservations.get(runtime) ?? new Map<string, number>();
      for (const [key, until] of held) if (until < now()) held.delete(key);
      return Math.max(options.floor, largestBurst(list), held.size);
    },
  };
}
