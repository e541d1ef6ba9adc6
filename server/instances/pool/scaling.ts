// How many instances each function has: one started when waiters need it (up to maxInstances), minInstances kept
// warm, idle ones reaped, and stopping an instance (its requests drained or cut, a pause after a switch, the engine).
import { LambdaError } from '../../errors.js';
import type { Instance } from '../engine.js';
import type { Leases } from './leases.js';
import { member, removeMember, type PoolCore, type Slot } from './slots.js';

export interface Scaling {
  /** Starts one more instance for the slot; once up it serves the waiters, and its failure fails those it would have served. */
  startFor(slot: Slot): void;
  /** Starts instances until the slot has minInstances (running or starting). */
  keepWarm(slot: Slot): void;
  /**
   * Stops an instance no slot holds any more: `hard` cuts its requests in flight, else they finish first; `settleMs`
   * delays the engine's work of stopping it (after a version switch).
   */
  retire(instance: Instance, hard: boolean, settleMs?: number): void;
  /** Instances being stopped, with their function: a delete waits for all of its own before its images go. */
  readonly retiring: ReadonlyMap<string, { fn: string; done: Promise<void> }>;
  /** The starts under way of `fn` (any version): each settles once its instance serves, is retired, or failed. */
  startsOf(fn: string): Promise<void>[];
  /** (Re)arms the idle reaper for the shortest idle time any live version has. */
  scheduleReaper(): void;
  stopReaper(): void;
}

export function createScaling(core: PoolCore, leases: Pick<Leases, 'serveWaiters' | 'freezeLater'>): Scaling {
  const { engine, clients, log, options, slots } = core;
  const retiring = new Map<string, { fn: string; done: Promise<void> }>();
  const starts = new Set<{ fn: string; done: Promise<void> }>();

  const retire = (instance: Instance, hard: boolean, settleMs = 0): void => {
    if (retiring.has(instance.id)) return;
    const done = (async () => {
      await (hard ? clients.destroy(instance.id) : clients.drain(instance.id));
      // After a switch the engine's work of stopping the old instance waits until the new one has answered its first
      // requests (a rollback's first response), unless the server is stopping.
      if (settleMs > 0 && !core.closed) await new Promise((resolve) => setTimeout(resolve, settleMs));
      await engine.stop(instance);
    })()
      .catch((error: unknown) => log(`could not stop instance ${instance.id}: ${String(error)}`))
      .finally(() => retiring.delete(instance.id));
    retiring.set(instance.id, { fn: instance.fn, done });
  };

  const startFor = (slot: Slot): void => {
    slot.starting += 1;
    const spec = slot.spec;
    const startedAt = performance.now();
    const done = engine.start(spec).then(
      (instance) => {
        slot.starting -= 1;
        if (slots.get(spec.fn) !== slot || core.closed) {
          // The version changed (or the server is stopping) while this one started: it is not live any more.
          retire(instance, true);
          return;
        }
        const fresh = member(instance);
        slot.members.push(fresh);
        // A request that waited for this start is a cold start; one that comes later (minInstances) is not.
        fresh.coldStartMs = performance.now() - startedAt;
        leases.serveWaiters(slot);
        fresh.coldStartMs = undefined;
        if (fresh.active === 0) leases.freezeLater(slot, fresh);
      },
      (error: unknown) => {
        slot.starting -= 1;
        // A start the engine gave up (no turn to boot in time, the function deleted) already says so in these words.
        const failure =
          error instanceof LambdaError && error.code === 'LAMBDA_ERR_INSTANCE_START_FAILED'
            ? error
            : new LambdaError('LAMBDA_ERR_INSTANCE_START_FAILED', { name: spec.fn, detail: error instanceof Error ? error.message : String(error) });
        log(`could not start an instance of ${spec.fn}: ${failure.message}`);
        // Those waiting for this start get its failure, unless another instance can still take them.
        const stranded = slot.waiters.length - slot.starting * spec.concurrency;
        for (const waiter of slot.waiters.splice(0, Math.max(0, stranded))) {
          clearTimeout(waiter.timer);
          waiter.reject(failure);
        }
      },
    );
    const entry = { fn: spec.fn, done };
    starts.add(entry);
    void done.finally(() => starts.delete(entry));
  };

  const keepWarm = (slot: Slot): void => {
    while (!core.closed && slots.get(slot.spec.fn) === slot && slot.members.length + slot.starting < slot.spec.minInstances) startFor(slot);
  };

  const reapIdle = (): void => {
    const now = Date.now();
    for (const slot of slots.values()) {
      const idleTimeoutMs = slot.spec.idleTimeoutMs ?? options.idleTimeoutMs;
      for (const candidate of [...slot.members]) {
        if (slot.members.length <= slot.spec.minInstances) break;
        if (candidate.active === 0 && now - candidate.lastUsed >= idleTimeoutMs) {
          removeMember(slot, candidate.instance.id);
          retire(candidate.instance, false);
        }
      }
    }
  };
  const shortestIdle = () => Math.min(options.idleTimeoutMs, ...[...slots.values()].map((slot) => slot.spec.idleTimeoutMs ?? Infinity));
  let reaper: NodeJS.Timeout | undefined;
  const scheduleReaper = (): void => {
    clearTimeout(reaper);
    if (core.closed) return;
    // Checked often enough that an instance stops within about a tenth of its idle time after it.
    const every = Math.max(50, Math.min(1000, Math.floor(shortestIdle() / 10)));
    reaper = setTimeout(() => {
      reapIdle();
      scheduleReaper();
    }, every);
    reaper.unref();
  };

  const startsOf = (fn: string): Promise<void>[] => [...starts].filter((entry) => entry.fn === fn).map((entry) => entry.done);

  return { startFor, keepWarm, retire, retiring, startsOf, scheduleReaper, stopReaper: () => clearTimeout(reaper) };
}
