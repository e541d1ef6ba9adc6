// The stem-cell pool's rules, engine-free: pre-started generic runtime containers per runtime in use, each taken
// once, specialised for one version and never returned; refilled in the background up to what recent demand asks
// (demand.ts) within a memory budget, and given back one by one when quiet.
import type { CellPool, Instance, InstanceSpec, ManagedContainer } from '../engine.js';
import { UNBOUNDED, type BootLimiter } from '../boots.js';
import { createDemand, type DemandOptions } from './demand.js';

/** One pre-started container of a runtime, waiting for its function. */
export interface Cell {
  id: string;
  runtime: string;
}

/** What the pool asks of a container engine (server/engine/cells/cells.ts; a fake in cells.test.ts). */
export interface CellEngine<C extends Cell> {
  /** Runtimes that have cells (the keys the pool keeps cells under). */
  runtimes(): string[];
  /**
   * The key whose cells could run this version, without preparing anything; undefined: never a cell. Without it the
   * key is the version's runtime (a swarm keys its cells by the version's image instead: a cell there is one version's).
   */
  keyOf?(spec: InstanceSpec): string | undefined;
  /** Creates and starts one cell, resolving once it is booted and reachable; `exited` is called if it ends later. */
  create(runtime: string, exited: () => void): Promise<C>;
  /** Which runtime's cells can run this version, with its files made ready; undefined: it must start classically. */
  prepare(spec: InstanceSpec): Promise<string | undefined>;
  /** Turns a cell into an instance of `spec`. Throws when it cannot; the pool then destroys the cell. */
  specialise(cell: C, spec: InstanceSpec): Promise<Instance>;
  /** Private memory one waiting cell of `runtime` holds (measured for its cell.json); the pool's budget counts it. */
  cellBytes?(runtime: string): number;
  /** Removes a cell and everything kept for it. Never throws for one already gone. */
  destroy(cell: C): Promise<void>;
  /** An instance that was a cell stopped: drop what was kept for it (its task folder). */
  release(instanceId: string): void;
  /** Forgets what was prepared for an image tag (the image was removed). */
  forget(image: string): void;
  /** See CellPool.dropFiles. */
  dropFiles?(imageId: string): Promise<void>;
  /** Removes the waiting cells (and leftovers) an earlier server process left; specialised ones stay. Returns how many. */
  removeAll(): Promise<number>;
  /** Cells that became instances, with what they serve. */
  instances(): Promise<ManagedContainer[]>;
}

export interface CellPoolOptions {
  /** Ready cells kept per runtime at rest, the floor; 0 disables the pool (no container is made, start() always declines) unless `onDemand`. */
  size: number;
  /** With a floor of 0 the pool still works: no cell at rest, only those demand asks for within the budget (a swarm's). */
  onDemand?: boolean;
  /** Bytes the cells above the floor may hold together, all runtimes (LAMBDA_POOL_MAX); 0: the pool never grows. */
  maxBytes?: number;
  log(line: string): void;
  /** Wait after a failed cell before the next try of that runtime; doubles per failure in a row, at most 60 s. */
  retryMs?: number;
  /** Where cell boots take their turn beside classic starts. */
  boots?: BootLimiter;
  /** Cold starts of a runtime are this quiet before its cells are refilled, so new boots do not slow a burst (0: at once). */
  refillQuietMs?: number;
  /** How often one cell above what demand wants is removed. */
  shrinkEveryMs?: number;
  /** The demand window, burst span and clock (tests give a fake one). */
  demand?: Omit<DemandOptions, 'floor'>;
}

/** A waiting cell's private memory when its engine does not say. */
export const DEFAULT_CELL_BYTES = 32 * 1024 * 1024;

export function createCellPool<C extends Cell>(engine: CellEngine<C>, options: CellPoolOptions): CellPool {
  const { size, log } = options;
  const retryMs = options.retryMs ?? 1000;
  const maxBytes = options.maxBytes ?? 0;
  const boots = options.boots ?? UNBOUNDED;
  const demand = createDemand({ ...options.demand, floor: size });
  const disabled = size <= 0 && !options.onDemand;
  const keyOf = (spec: InstanceSpec): string | undefined => (engine.keyOf ? engine.keyOf(spec) : spec.runtime);
  const bytesOf = (runtime: string): number => engine.cellBytes?.(runtime) ?? DEFAULT_CELL_BYTES;
  let shrinkTimer: NodeJS.Timeout | undefined;
  const refillTimers = new Map<string, NodeJS.Timeout>();
  const ready = new Map<string, C[]>();
  const starting = new Map<string, number>();
  const failures = new Map<string, number>();
  const retryTimers = new Map<string, NodeJS.Timeout>();
  const creating = new Set<Promise<void>>();
  const background = new Set<Promise<void>>();
  let filling = false;
  let closed = false;
  /** Runtimes a version was seen of: only these keep cells (a server with no python3 function boots no python3 cell). */
  const inUse = new Set<string>();
  let warming: Promise<void> = Promise.resolve();

  const readyOf = (runtime: string): C[] => {
    let list = ready.get(runtime);
    if (!list) {
      list = [];
      ready.set(runtime, list);
    }
    return list;
  };

  const failed = (runtime: string, why: string): void => {
    const count = (failures.get(runtime) ?? 0) + 1;
    failures.set(runtime, count);
    const wait = Math.min(60_000, retryMs * 2 ** (count - 1));
    if (count === 1 || count % 10 === 0) log(`a ${runtime} cell failed (${why}); retrying in ${wait} ms`);
    clearTimeout(retryTimers.get(runtime));
    const timer = setTimeout(() => {
      retryTimers.delete(runtime);
      top(runtime);
    }, wait);
    timer.unref();
    retryTimers.set(runtime, timer);
  };

  const countOf = (runtime: string): number => readyOf(runtime).length + (starting.get(runtime) ?? 0);

  /** What the cells above the floor hold, all runtimes together. */
  const aboveFloorBytes = (): number => {
    let bytes = 0;
    for (const runtime of inUse) bytes += Math.max(0, countOf(runtime) - size) * bytesOf(runtime);
    return bytes;
  };

  /**
   * Starts cells until ready + starting reaches what demand wants, cells above the floor only while they fit the
   * budget, unless the runtime is waiting out a failure.
   */
  const top = (runtime: string): void => {
    if (closed || !filling || retryTimers.has(runtime) || !inUse.has(runtime)) return;
    const wanted = demand.wanted(runtime);
    while (countOf(runtime) < wanted && (countOf(runtime) < size || aboveFloorBytes() + bytesOf(runtime) <= maxBytes)) launch(runtime);
  };

  /** Tops `runtime` up once its cold starts have been quiet for refillQuietMs. */
  const refill = (runtime: string): void => {
    const quietMs = options.refillQuietMs ?? 0;
    if (quietMs <= 0) return top(runtime);
    clearTimeout(refillTimers.get(runtime));
    const timer = setTimeout(() => {
      refillTimers.delete(runtime);
      top(runtime);
    }, quietMs);
    timer.unref();
    refillTimers.set(runtime, timer);
  };

  /** Quiet again: one waiting cell above what demand wants goes per runtime each round, so memory is given back gradually. */
  const shrink = (): void => {
    for (const runtime of inUse) {
      if (countOf(runtime) <= demand.wanted(runtime)) continue;
      const cell = readyOf(runtime).pop();
      if (cell) void engine.destroy(cell).catch((error: unknown) => log(`could not remove a cell: ${String(error)}`));
    }
  };

  const launch = (runtime: string): void => {
    starting.set(runtime, (starting.get(runtime) ?? 0) + 1);
    let cell: C | undefined;
    const exited = () => {
      // A cell that ends while it waits is dropped; one already taken is an instance, the engine reports it.
      const list = readyOf(runtime);
      const index = cell ? list.indexOf(cell) : -1;
      if (index < 0) return;
      list.splice(index, 1);
      failed(runtime, 'it exited while waiting');
    };
    const done = boots
      .run('cell', () => engine.create(runtime, exited))
      .then(
        async (created) => {
          cell = created;
          // A key forgotten meanwhile (its image removed) keeps no cell.
          if (closed || !inUse.has(runtime)) {
            await engine.destroy(created);
            return;
          }
          failures.delete(runtime);
          readyOf(runtime).push(created);
        },
        (error: unknown) => failed(runtime, error instanceof Error ? error.message : String(error)),
      )
      .catch((error: unknown) => log(`could not remove a cell: ${String(error)}`))
      .finally(() => {
        starting.set(runtime, (starting.get(runtime) ?? 1) - 1);
        creating.delete(done);
        top(runtime);
      });
    creating.add(done);
  };

  const fill = (): void => {
    if (disabled || closed) return;
    filling = true;
    if (!shrinkTimer) {
      shrinkTimer = setInterval(shrink, options.shrinkEveryMs ?? 10_000);
      shrinkTimer.unref();
    }
    for (const runtime of engine.runtimes()) if (inUse.has(runtime)) top(runtime);
  };

  /** A version of `spec`'s runtime exists: that runtime's cells are kept from now on. */
  const use = (spec: InstanceSpec): void => {
    const key = keyOf(spec);
    if (key === undefined || inUse.has(key) || !engine.runtimes().includes(key)) return;
    inUse.add(key);
    fill();
  };

  const prepare = async (spec: InstanceSpec): Promise<void> => {
    if (disabled || closed) return;
    use(spec);
    await engine.prepare(spec).then(
      () => {},
      (error: unknown) => log(`${spec.fn} v${spec.version}: its files could not be made ready for cells: ${String(error)}`),
    );
  };

  return {
    async start(spec) {
      if (disabled || closed) return undefined;
      use(spec);
      // Every cold start is demand: a burst of them grows its runtime's pool for the next one.
      const key = keyOf(spec);
      if (key !== undefined && inUse.has(key)) {
        demand.coldStart(key);
        if (filling) refill(key);
      }
      if (!filling) fill();
      if (![...ready.values()].some((list) => list.length > 0)) {
        // No cell to take: this start is classic, and the version's files get ready meanwhile for the next one.
        const later = prepare(spec).finally(() => background.delete(later));
        background.add(later);
        return undefined;
      }
      let runtime: string | undefined;
      try {
        runtime = await engine.prepare(spec);
      } catch (error) {
        log(`${spec.fn} v${spec.version} starts without a cell: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      }
      if (!runtime || closed) return undefined;
      const cell = readyOf(runtime).shift();
      if (!cell) return undefined;
      try {
        return await engine.specialise(cell, spec);
      } catch (error) {
        // A used cell never goes back: whatever it loaded stays with it, and it is removed.
        log(`cell ${cell.id} could not become ${spec.fn} v${spec.version} (${error instanceof Error ? error.message : String(error)}); starting it classically`);
        await engine.destroy(cell).catch(() => {});
        return undefined;
      } finally {
        // Refilled once this start is done (and the burst it is part of), so new boots do not compete with it for the CPU.
        refill(runtime);
      }
    },

    prepare,

    reserve(spec, until) {
      if (disabled || closed) return;
      use(spec);
      const key = keyOf(spec);
      if (key === undefined || !inUse.has(key)) return;
      demand.reserve(key, spec.fn, until);
      const later = prepare(spec).finally(() => background.delete(later));
      background.add(later);
      top(key);
    },

    warm(specs) {
      fill();
      if (disabled) return;
      // One version after another, in the background: a restart with many functions does not flood the engine.
      warming = warming.then(async () => {
        for (const spec of specs) {
          if (closed) return;
          await prepare(spec);
        }
      });
    },

    release: (instanceId) => engine.release(instanceId),
    forget(image) {
      engine.forget(image);
      // Cells kept under the image itself (a swarm's, one version's each) go with it; runtime keys are never image tags.
      if (!inUse.delete(image)) return;
      for (const cell of ready.get(image)?.splice(0) ?? []) void engine.destroy(cell).catch((error: unknown) => log(`could not remove a cell: ${String(error)}`));
      clearTimeout(retryTimers.get(image));
      retryTimers.delete(image);
    },
    dropFiles: async (imageId) => engine.dropFiles?.(imageId),
    reset: () => engine.removeAll(),
    instances: () => engine.instances(),
    fill,

    status() {
      const status: ReturnType<CellPool['status']> = {};
      for (const runtime of engine.runtimes()) if (inUse.has(runtime)) status[runtime] = { ready: readyOf(runtime).length, starting: starting.get(runtime) ?? 0, size: demand.wanted(runtime) };
      return status;
    },

    async shutdown() {
      closed = true;
      clearInterval(shrinkTimer);
      for (const timer of refillTimers.values()) clearTimeout(timer);
      for (const timer of retryTimers.values()) clearTimeout(timer);
      retryTimers.clear();
      await warming;
      while (creating.size > 0 || background.size > 0) await Promise.allSettled([...creating, ...background]);
      const cells = [...ready.values()].flatMap((list) => list.splice(0));
      await Promise.allSettled(cells.map((cell) => engine.destroy(cell)));
    },
  };
}
