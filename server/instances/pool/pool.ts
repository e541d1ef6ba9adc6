// Which instances serve each function: the live spec, a version switch that lets in-flight requests finish on the
// old instances, failed ones replaced, a delete, shutdown. Leases and the wait queue are in pool-leases.ts, starting
// and stopping instances (scaling, idle reaping) in pool-scaling.ts, the state they share in pool-slots.ts.
import { LambdaError } from '../../errors.js';
import type { InstanceClients } from '../requests/client.js';
import type { Instance, InstanceSpec, Engine } from '../engine.js';
import { createLeases } from './leases.js';
import { createScaling, type Scaling } from './scaling.js';
import { DEACTIVATE_WAIT_MS, DEFAULT_POOL_OPTIONS, member, removeAllMembers, removeMember, takeWaiters, type Lease, type PoolCore, type PoolOptions, type Slot } from './slots.js';

export { DEACTIVATE_WAIT_MS, DEFAULT_POOL_OPTIONS, type Lease, type PoolOptions };

export interface InstancePool {
  /** The live spec of `fn`, if it has one. */
  spec(fn: string): InstanceSpec | undefined;
  /**
   * Makes `spec` live for its function, served by `instance` when given (else started on first use, or now for
   * minInstances); the old version's instances finish their requests, then stop.
   */
  activate(spec: InstanceSpec, instance?: Instance): Promise<void>;
  /**
   * A slot on an instance of the live version, cold-starting one when all are busy and maxInstances allows.
   * Throws LAMBDA_ERR_NOT_DEPLOYED, LAMBDA_ERR_INSTANCE_START_FAILED, LAMBDA_ERR_TOO_MANY_REQUESTS.
   */
  acquire(fn: string): Promise<Lease>;
  /**
   * Stops a failed or hung instance; later requests get another. Idempotent: the requests that were in flight on
   * the same instance may all report it; only the first call acts, and it alone returns true. With `reason`
   * (a hung handler) the pool logs it; without (a dropped connection), the engine's exit report says why.
   */
  recycle(fn: string, instance: Instance, reason?: string): boolean;
  /**
   * The engine reports that an instance's process ended (exit, OOM): forget it at once. Returns whether it was
   * serving or had just failed a request (so the caller logs why once), false for one the pool stopped itself.
   */
  exited(instanceId: string): boolean;
  /** True when the instance's process had already ended at `time` (a request sent then never reached a handler). */
  endedBefore(instance: Instance, time: number): Promise<boolean>;
  /**
   * Forgets `fn` (it was deleted): its requests get LAMBDA_ERR_FUNCTION_NOT_FOUND from now on and its instances stop at
   * once (requests in flight on them end). Resolves once they are stopped.
   */
  deactivate(fn: string): Promise<void>;
  /** How many instances each function has: running (`frozen` of them paused between requests) or starting. */
  counts(): Record<string, { running: number; frozen: number; starting: number; busy: number; waiting: number }>;
  /** Stops every instance (server shutdown), after in-flight requests. */
  shutdown(): Promise<void>;
}

export function createPool(engine: Engine, clients: InstanceClients, log: (message: string) => void, options: PoolOptions = DEFAULT_POOL_OPTIONS): InstancePool {
  const core: PoolCore = { engine, clients, log, options, slots: new Map<string, Slot>(), closed: false };
  const { slots } = core;
  // Leases call for more instances, and a started instance serves the waiting leases: each is handed the other.
  const leases = createLeases(core, (slot) => scaling.startFor(slot));
  const scaling: Scaling = createScaling(core, leases);
  const { retire, keepWarm } = scaling;
  /** Instances recycled after a dropped connection, whose exit report is still to come (and to be logged). */
  const failed = new Set<string>();

  /** After an instance left the slot: keep minInstances, and let the waiters have what is left. */
  const refill = (slot: Slot): void => {
    keepWarm(slot);
    leases.serveWaiters(slot);
  };

  scaling.scheduleReaper();

  return {
    spec: (fn) => slots.get(fn)?.spec,

    async activate(spec, instance) {
      const old = slots.get(spec.fn);
      const slot: Slot = { spec, members: instance ? [member(instance)] : [], starting: 0, waiters: [] };
      slots.set(spec.fn, slot);
      if (old) {
        // In-flight requests finish on the old version (drain waits for them); waiting ones go to the new one.
        for (const previous of removeAllMembers(old)) {
          if (previous.instance.id !== instance?.id) retire(previous.instance, false, options.switchSettleMs ?? 0);
        }
        for (const waiter of takeWaiters(old)) leases.acquire(spec.fn).then(waiter.resolve, waiter.reject);
      }
      keepWarm(slot);
      scaling.scheduleReaper();
    },

    acquire: leases.acquire,

    recycle(fn, instance, reason) {
      const slot = slots.get(fn);
      const current = slot ? removeMember(slot, instance.id) !== undefined : false;
      if (current && reason) log(`instance ${instance.id} of ${fn} ${reason}: replacing it`);
      else if (current) failed.add(instance.id);
      // A hung instance takes no new request; those in flight on it end at their own timeouts, then it stops.
      // One whose connection broke is dropped at once.
      retire(instance, reason === undefined);
      if (slot && current) refill(slot);
      return current;
    },

    exited(instanceId) {
      if (failed.delete(instanceId)) return true;
      for (const slot of slots.values()) {
        const gone = removeMember(slot, instanceId);
        if (!gone) continue;
        retire(gone.instance, true);
        refill(slot);
        return true;
      }
      return false;
    },

    async deactivate(fn) {
      const slot = slots.get(fn);
      if (!slot) return;
      slots.delete(fn);
      for (const previous of removeAllMembers(slot)) retire(previous.instance, true);
      for (const waiter of takeWaiters(slot)) waiter.reject(new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name: fn }));
      // Its starts are given up: those waiting for a turn to boot never create a container, those booting remove
      // theirs; one that came up anyway retires itself (the slot is gone). They are waited for first, so what they
      // retire is among what is waited for next.
      engine.cancelBoots?.(fn);
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.deactivateWaitMs ?? DEACTIVATE_WAIT_MS)));
      await Promise.race([Promise.allSettled(scaling.startsOf(fn)), bound]);
      // Every instance of the function being stopped is waited for, those just retired and those of an earlier
      // version still finishing their requests after a switch: their containers hold the images the delete removes
      // next. A request that outlasts the bound leaves its image in use (the delete retries its removal).
      const ours = [...scaling.retiring.values()].filter((entry) => entry.fn === fn).map((entry) => entry.done);
      await Promise.race([Promise.allSettled(ours), bound]);
      clearTimeout(timer);
    },

    async endedBefore(instance, time) {
      const ended = await engine.endedAt(instance).catch(() => undefined);
      return ended !== undefined && ended <= time;
    },

    counts() {
      const counts: ReturnType<InstancePool['counts']> = {};
      for (const [fn, slot] of slots) {
        counts[fn] = {
          running: slot.members.length,
          frozen: slot.members.reduce((sum, each) => sum + (each.frozen ? 1 : 0), 0),
          starting: slot.starting,
          busy: slot.members.reduce((sum, each) => sum + each.active, 0),
          waiting: slot.waiters.length,
        };
      }
      return counts;
    },

    async shutdown() {
      core.closed = true;
      // Starts still waiting for a turn to boot fail now (their waiters with them) rather than boot for nothing.
      engine.closeBoots?.();
      scaling.stopReaper();
      for (const slot of slots.values()) {
        for (const previous of removeAllMembers(slot)) retire(previous.instance, false);
        for (const waiter of takeWaiters(slot)) waiter.reject(new LambdaError('LAMBDA_ERR_NOT_DEPLOYED', { name: slot.spec.fn }));
      }
      // Starts still running retire their instance when they finish (closed is set); wait for them too.
      while ([...slots.values()].some((slot) => slot.starting > 0)) await new Promise((resolve) => setTimeout(resolve, 20));
      slots.clear();
      while (scaling.retiring.size > 0) await Promise.allSettled([...scaling.retiring.values()].map((entry) => entry.done));
    },
  };
}
