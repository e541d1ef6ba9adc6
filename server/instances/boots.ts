// How many containers boot at once: classic starts and new cells take turns under one bound, starts first, so a
// burst beyond what the cores can do finishes its first boots early instead of every boot late.
export type BootKind = 'start' | 'cell';

export interface BootLimiter {
  /** Runs `boot` once a turn is free; a classic start's turn comes before any waiting cell's. */
  run<T>(kind: BootKind, boot: () => Promise<T>): Promise<T>;
  /** Boots running and waiting, for tests and status. */
  counts(): { running: number; waiting: number };
}

/** `limit` boots at once (at least one). */
export function createBootLimiter(limit: number): BootLimiter {
  const bound = Math.max(1, Math.floor(limit));
  let running = 0;
  // Two lines, never longer than the starts and cells that asked: each waiter is one caller's boot.
  const waiting: Record<BootKind, (() => void)[]> = { start: [], cell: [] };

  const next = (): void => {
    while (running < bound) {
      const turn = waiting.start.shift() ?? waiting.cell.shift();
      if (!turn) return;
      running += 1;
      turn();
    }
  };

  return {
    run(kind, boot) {
      return new Promise<void>((resolve) => {
        waiting[kind].push(resolve);
        next();
      }).then(() =>
        Promise.resolve()
          .then(boot)
          .finally(() => {
            running -= 1;
            next();
          }),
      );
    },
    counts: () => ({ running, waiting: waiting.start.length + waiting.cell.length }),
  };
}

/** No bound: every boot runs at once (a pool or engine built without a limiter). */
export const UNBOUNDED: BootLimiter = { run: (_kind, boot) => boot(), counts: () => ({ running: 0, waiting: 0 }) };
