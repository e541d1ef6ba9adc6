// How many containers boot at once: a turn covers what costs the machine (create, start, the process's own start up
// to a short cap), starts take turns round-robin by function with at most half the turns each, before cells; a wait
// for a turn is bounded, and a function's boots (or all, at shutdown) can be given up.
export type BootKind = 'start' | 'cell';

/** A turn is given back at the latest this long after the container's process was started. */
export const BOOT_HOLD_MS = 2_000;

/** Why a boot did not run or was abandoned: it waited too long for a turn, its function was deleted, the server stops. */
export class BootRefused extends Error {
  override readonly name = 'BootRefused';
}

/** What a boot is handed with its turn. */
export interface BootTurn {
  /**
   * The container's process runs: the turn is given back at the latest `holdMs` from now. A process that sleeps
   * before it dials in costs the machine nothing, so it must not keep another function's boot waiting.
   */
  spawned(): void;
  /** Gives the turn back now (the process dialled in); the boot goes on without it. Idempotent. */
  release(): void;
  /** Aborted (with a BootRefused) when the boot's function is deleted or the server stops: undo what was made and give up. */
  readonly signal: AbortSignal;
  /** How long the boot waited for its turn (ms). */
  readonly waitedMs: number;
}

export interface BootOptions {
  /** Whose boot this is (a function's name): waiting starts are served round-robin by key, each key holding at most half the turns. */
  key?: string;
  /** Gives up after waiting this long for a turn, rejecting with a BootRefused; undefined: no bound. */
  maxWaitMs?: number;
}

export interface BootLimiter {
  /** Runs `boot` once a turn is free; a classic start's turn comes before any waiting cell's. */
  run<T>(kind: BootKind, boot: (turn: BootTurn) => Promise<T>, options?: BootOptions): Promise<T>;
  /** Gives up `key`'s boots: those waiting reject with BootRefused(`why`), those running see their signal aborted. Returns how many. */
  cancel(key: string, why: string): number;
  /** Gives up every boot as cancel() does, and refuses every later one (the server stops). */
  close(why: string): void;
  /** Turns held and boots waiting for one, for tests and status. */
  counts(): { running: number; waiting: number };
}

export interface BootLimiterOptions {
  /** How long after its process started a boot keeps its turn at most (BOOT_HOLD_MS when undefined). */
  holdMs?: number;
}

interface Entry {
  kind: BootKind;
  key: string;
  /** Hands the turn over: the boot begins. */
  begin(): void;
  refuse(error: BootRefused): void;
  timer?: NodeJS.Timeout;
}

/** A running boot: its key, whether it still holds its turn, and how to abort it. */
interface Active {
  key: string;
  held: boolean;
  controller: AbortController;
}

/** Cells have no function: they wait in a line of their own, behind every start that may run. */
const CELLS = '\u0000cells';

/** `limit` turns at once (at least one). */
export function createBootLimiter(limit: number, options: BootLimiterOptions = {}): BootLimiter {
  const bound = Math.max(1, Math.floor(limit));
  // Half the turns (rounded up) per function: another function's start finds a turn free at once.
  const perKey = Math.max(1, Math.ceil(bound / 2));
  const holdMs = options.holdMs ?? BOOT_HOLD_MS;
  let running = 0;
  let closedWhy: string | undefined;
  /** Waiting starts per key, keys in the order their next turn comes (round-robin); the cells' line apart. */
  const lines = new Map<string, Entry[]>();
  const cells: Entry[] = [];
  const held = new Map<string, number>();
  const active = new Set<Active>();

  const heldBy = (key: string): number => held.get(key) ?? 0;

  /** The next start whose function is under its share, its key moved to the back of the rotation. */
  const nextStart = (): Entry | undefined => {
    for (const [key, line] of lines) {
      // A start without a key (no function named) is nobody's: it has no share to exceed.
      if (key !== '' && heldBy(key) >= perKey) continue;
      const entry = line.shift() as Entry;
      lines.delete(key);
      if (line.length > 0) lines.set(key, line);
      return entry;
    }
    return undefined;
  };

  const next = (): void => {
    while (running < bound) {
      const entry = nextStart() ?? cells.shift();
      if (!entry) return;
      clearTimeout(entry.timer);
      running += 1;
      held.set(entry.key, heldBy(entry.key) + 1);
      entry.begin();
    }
  };

  const give = (turn: Active): void => {
    if (!turn.held) return;
    turn.held = false;
    running -= 1;
    const left = heldBy(turn.key) - 1;
    if (left > 0) held.set(turn.key, left);
    else held.delete(turn.key);
    next();
  };

  /** Takes an entry out of whichever line holds it; false when it was not waiting any more. */
  const unqueue = (entry: Entry): boolean => {
    const line = entry.kind === 'cell' ? cells : lines.get(entry.key);
    const index = line ? line.indexOf(entry) : -1;
    if (!line || index < 0) return false;
    line.splice(index, 1);
    if (line.length === 0 && line !== cells) lines.delete(entry.key);
    clearTimeout(entry.timer);
    return true;
  };

  const giveUp = (matches: (key: string) => boolean, why: string): number => {
    let count = 0;
    for (const entry of [...[...lines.values()].flat(), ...cells]) {
      if (!matches(entry.key) || !unqueue(entry)) continue;
      entry.refuse(new BootRefused(why));
      count += 1;
    }
    for (const turn of active) {
      if (!matches(turn.key) || turn.controller.signal.aborted) continue;
      turn.controller.abort(new BootRefused(why));
      count += 1;
    }
    return count;
  };

  return {
    run<T>(kind: BootKind, boot: (turn: BootTurn) => Promise<T>, runOptions: BootOptions = {}): Promise<T> {
      if (closedWhy !== undefined) return Promise.reject(new BootRefused(closedWhy));
      const key = kind === 'cell' ? CELLS : (runOptions.key ?? '');
      const queuedAt = performance.now();
      return new Promise<T>((resolve, reject) => {
        const entry: Entry = {
          kind,
          key,
          refuse: reject,
          begin() {
            const turn: Active = { key, held: true, controller: new AbortController() };
            active.add(turn);
            let holdTimer: NodeJS.Timeout | undefined;
            const handed: BootTurn = {
              spawned() {
                if (!turn.held || holdTimer) return;
                holdTimer = setTimeout(() => give(turn), holdMs);
                holdTimer.unref();
              },
              release: () => give(turn),
              signal: turn.controller.signal,
              waitedMs: Math.round(performance.now() - queuedAt),
            };
            // The turn is given back before the caller hears the result, so what it sees next counts it free.
            Promise.resolve()
              .then(() => boot(handed))
              .finally(() => {
                clearTimeout(holdTimer);
                active.delete(turn);
                give(turn);
              })
              .then(resolve, reject);
          },
        };
        if (runOptions.maxWaitMs !== undefined) {
          const maxWaitMs = runOptions.maxWaitMs;
          entry.timer = setTimeout(() => {
            if (unqueue(entry)) reject(new BootRefused(`no turn to boot came within ${maxWaitMs} ms (LAMBDA_BOOTS: ${bound} at once)`));
          }, maxWaitMs);
          entry.timer.unref();
        }
        const line = kind === 'cell' ? cells : lines.get(key);
        if (line) line.push(entry);
        else lines.set(key, [entry]);
        next();
      });
    },

    cancel: (key, why) => giveUp((each) => each === key, why),

    close(why) {
      closedWhy = why;
      giveUp(() => true, why);
    },

    counts: () => ({ running, waiting: cells.length + [...lines.values()].reduce((sum, line) => sum + line.length, 0) }),
  };
}

/** No bound: every boot runs at once (a pool or engine built without a limiter); nothing to cancel. */
export const UNBOUNDED: BootLimiter = {
  run: (_kind, boot) =>
    boot({ spawned: () => {}, release: () => {}, signal: new AbortController().signal, waitedMs: 0 }),
  cancel: () => 0,
  close: () => {},
  counts: () => ({ running: 0, waiting: 0 }),
};
