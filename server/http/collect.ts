// Gives back the memory of bodies a server stopped holding: one full garbage collection, soon after they are let go.
//
// Every socket read lands in a buffer of its own. Uploads that stall, or a flood of them filling the body budget, keep
// thousands of those alive long enough to reach V8's old generation; once their clients go they are garbage, but V8
// collects the old generation only when allocation asks it to, and a server left idle allocates almost nothing: the
// buffers (and their memory outside the heap) would stay for minutes, or for good. So the body reader asks for one
// collection when a large amount it held is released, at most once per interval. (The buffers are their own mappings,
// config/server-memory.env, so what the collection frees goes back to the system.)
import v8 from 'node:v8';
import vm from 'node:vm';

export interface CollectorOptions {
  /** How long after the release the collection runs: the clients' sockets are closing in the meantime. */
  delayMs?: number;
  /** At most one collection per this long, however many releases. */
  minIntervalMs?: number;
  /** The collection itself (tests pass their own). */
  gc?: () => void;
  now?: () => number;
}

export interface Collector {
  /** Asks for a collection; several asks before it runs are one. */
  request(): void;
  /** Collections run so far. */
  count(): number;
  /** Cancels a pending one (the server stops). */
  stop(): void;
}

/** V8's `gc`, without starting Node with --expose-gc: the flag is read when a context is created. */
function exposedGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

export function createCollector(options: CollectorOptions = {}): Collector {
  const delayMs = options.delayMs ?? 1000;
  const minIntervalMs = options.minIntervalMs ?? 10_000;
  const now = options.now ?? Date.now;
  let gc = options.gc;
  let timer: NodeJS.Timeout | undefined;
  let last = -Infinity;
  let runs = 0;
  const run = () => {
    timer = undefined;
    last = now();
    runs++;
    gc ??= exposedGc();
    gc();
  };
  return {
    request() {
      if (timer) return;
      const wait = Math.max(delayMs, last + minIntervalMs - now());
      timer = setTimeout(run, wait);
      // A pending collection never keeps the process alive.
      timer.unref();
    },
    count: () => runs,
    stop() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
