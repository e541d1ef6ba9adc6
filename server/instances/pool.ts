// Which instances serve each function: the live spec, up to maxInstances instances of `concurrency` requests
// each, a bounded wait queue beyond that (then 429), minInstances kept warm, idle instances stopped, failed
// ones replaced, and a version switch that lets in-flight requests finish on the old instances.
import { LambdaError } from '../errors.js';
import type { InstanceClients } from './client.js';
import type { Instance, InstanceSpec, Engine } from './engine.js';

/** One request's hold on an instance; `release` it when the answer is done. */
export interface Lease {
  instance: Instance;
  spec: InstanceSpec;
  /** Resolves once the instance can take the request (at once, or when a frozen instance has thawed). */
  ready: Promise<void>;
  release(): void;
}

export interface PoolOptions {
  /** Stop an instance idle this long (unless minInstances keeps it); a version's `idleTimeout` overrides it. */
  idleTimeoutMs: number;
  /** Requests that may wait for a busy function, per function (beyond: 429 at once). */
  queueLength: number;
  /** How long a request may wait for a busy function (then 429). */
  queueTimeoutMs: number;
  /**
   * An instance with no request for this long is frozen (paused) until its next one, as Lambda freezes an
   * environment between invocations: background work runs at most this long after an answer. 0: never.
   */
  freezeAfterMs: number;
  /**
   * How long after a version switch (deploy, rollback, env change) the old instances' containers are stopped; they take
   * no request meanwhile. The engine's work of stopping them then does not compete with the new version's first
   * requests for CPU (a rollback's first response). Undefined: at once.
   */
  switchSettleMs?: number;
  /** How long deactivate waits for the function's instances to stop (DEACTIVATE_WAIT_MS when undefined). */
  deactivateWaitMs?: number;
}

/** A deleted function's instances finishing their requests are waited for this long before its images are removed. */
export const DEACTIVATE_WAIT_MS = 30_000;

export const DEFAULT_POOL_OPTIONS: PoolOptions = { idleTimeoutMs: 5 * 60_000, queueLength: 100, queueTimeoutMs: 5_000, freezeAfterMs: 1_000 };

interface Member {
  instance: Instance;
  active: number;
  lastUsed: number;
  /** Whether the instance's processes run; `transition` is the freeze or thaw under way. */
  frozen: boolean;
  transition: Promise<void>;
  freezeTimer?: NodeJS.Timeout;
}

const READY = Promise.resolve();

function member(instance: Instance): Member {
  return { instance, active: 0, lastUsed: Date.now(), frozen: false, transition: READY };
}

interface Waiter {
  resolve(lease: Lease): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

interface Slot {
  spec: InstanceSpec;
  members: Member[];
  starting: number;
  waiters: Waiter[];
}

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
  /** How many instances each function has (running or starting). */
  counts(): Record<string, { running: number; starting: number; busy: number; waiting: number }>;
  /** Stops every instance (server shutdown), after in-flight requests. */
  shutdown(): Promise<void>;
}

export function createPool(engine: Engine, clients: InstanceClients, log: (message: string) => void, options: PoolOptions = DEFAULT_POOL_OPTIONS): InstancePool {
  const slots = new Map<string, Slot>();
  /** Instances being stopped, with their function: a delete waits for all of its own before its images go. */
  const retiring = new Map<string, { fn: string; done: Promise<void> }>();
  /** Instances recycled after a dropped connection, whose exit report is still to come (and to be logged). */
  const failed = new Set<string>();
  let closed = false;

  const retire = (instance: Instance, hard: boolean, settleMs = 0): void => {
    if (retiring.has(instance.id)) return;
    const done = (async () => {
      await (hard ? clients.destroy(instance.id) : clients.drain(instance.id));
      // After a switch the engine's work of stopping the old instance waits until the new one has answered its first
      // requests (a rollback's first response), unless the server is stopping.
      if (settleMs > 0 && !closed) await new Promise((resolve) => setTimeout(resolve, settleMs));
      await engine.stop(instance);
    })()
      .catch((error: unknown) => log(`could not stop instance ${instance.id}: ${String(error)}`))
      .finally(() => retiring.delete(instance.id));
    retiring.set(instance.id, { fn: instance.fn, done });
  };

  const freezeLater = (slot: Slot, member: Member): void => {
    if (options.freezeAfterMs <= 0) return;
    clearTimeout(member.freezeTimer);
    member.freezeTimer = setTimeout(() => {
      if (member.active > 0 || member.frozen || !slot.members.includes(member)) return;
      member.frozen = true;
      member.transition = member.transition
        .then(() => engine.freeze(member.instance))
        .catch((error: unknown) => log(`could not freeze instance ${member.instance.id}: ${String(error)}`));
    }, options.freezeAfterMs);
    member.freezeTimer.unref();
  };

  const thaw = (member: Member): Promise<void> => {
    clearTimeout(member.freezeTimer);
    if (member.frozen) {
      member.frozen = false;
      // A thaw that fails (the instance was killed while frozen) rejects with an `unreachable` InstanceFailure: the request goes elsewhere.
      member.transition = member.transition.then(() => engine.thaw(member.instance));
    }
    return member.transition;
  };

  const lease = (slot: Slot, member: Member): Lease => {
    member.active += 1;
    member.lastUsed = Date.now();
    const ready = thaw(member);
    let released = false;
    return {
      instance: member.instance,
      spec: slot.spec,
      ready,
      release() {
        if (released) return;
        released = true;
        member.active -= 1;
        member.lastUsed = Date.now();
        if (slots.get(slot.spec.fn) !== slot || !slot.members.includes(member)) return;
        serveWaiters(slot);
        if (member.active === 0) freezeLater(slot, member);
      },
    };
  };

  /** The least busy instance with room for one more request. */
  const roomy = (slot: Slot): Member | undefined => {
    let best: Member | undefined;
    for (const member of slot.members) {
      if (member.active < slot.spec.concurrency && (!best || member.active < best.active)) best = member;
    }
    return best;
  };

  const serveWaiters = (slot: Slot): void => {
    while (slot.waiters.length > 0) {
      const member = roomy(slot);
      if (!member) break;
      const waiter = slot.waiters.shift() as Waiter;
      clearTimeout(waiter.timer);
      waiter.resolve(lease(slot, member));
    }
    // Waiters beyond what the running instances take may call for more instances.
    while (slot.waiters.length > slot.starting * slot.spec.concurrency && slot.members.length + slot.starting < slot.spec.maxInstances) {
      startFor(slot);
    }
  };

  const startFor = (slot: Slot): void => {
    slot.starting += 1;
    const spec = slot.spec;
    engine.start(spec).then(
      (instance) => {
        slot.starting -= 1;
        if (slots.get(spec.fn) !== slot || closed) {
          // The version changed (or the server is stopping) while this one started: it is not live any more.
          retire(instance, true);
          return;
        }
        const fresh = member(instance);
        slot.members.push(fresh);
        serveWaiters(slot);
        if (fresh.active === 0) freezeLater(slot, fresh);
      },
      (error: unknown) => {
        slot.starting -= 1;
        const failure = new LambdaError('LAMBDA_ERR_INSTANCE_START_FAILED', { name: spec.fn, detail: error instanceof Error ? error.message : String(error) });
        log(`could not start an instance of ${spec.fn}: ${failure.message}`);
        // Those waiting for this start get its failure, unless another instance can still take them.
        const stranded = slot.waiters.length - slot.starting * spec.concurrency;
        for (const waiter of slot.waiters.splice(0, Math.max(0, stranded))) {
          clearTimeout(waiter.timer);
          waiter.reject(failure);
        }
      },
    );
  };

  const keepWarm = (slot: Slot): void => {
    while (!closed && slots.get(slot.spec.fn) === slot && slot.members.length + slot.starting < slot.spec.minInstances) startFor(slot);
  };

  const acquire = async (fn: string): Promise<Lease> => {
    const slot = slots.get(fn);
    if (!slot || closed) throw new LambdaError('LAMBDA_ERR_NOT_DEPLOYED', { name: fn });
    const member = slot.waiters.length === 0 ? roomy(slot) : undefined;
    if (member) return lease(slot, member);
    if (slot.waiters.length >= options.queueLength) {
      throw new LambdaError('LAMBDA_ERR_TOO_MANY_REQUESTS', { name: fn, detail: `${options.queueLength} requests are already waiting` });
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(function expire() {
          const index = slot.waiters.indexOf(waiter);
          if (index < 0) return;
          // One waiting for an instance that is still starting is not throttled: a cold start is answered, never failed
          // (the start has its own time limit, and its failure rejects the waiter).
          if (index < slot.starting * slot.spec.concurrency) {
            waiter.timer = setTimeout(expire, options.queueTimeoutMs);
            return;
          }
          slot.waiters.splice(index, 1);
          reject(new LambdaError('LAMBDA_ERR_TOO_MANY_REQUESTS', { name: fn, detail: `every instance stayed busy for ${options.queueTimeoutMs} ms` }));
        }, options.queueTimeoutMs),
      };
      slot.waiters.push(waiter);
      serveWaiters(slot);
    });
  };

  const remove = (slot: Slot, instanceId: string): Member | undefined => {
    const index = slot.members.findIndex((candidate) => candidate.instance.id === instanceId);
    if (index < 0) return undefined;
    const [removed] = slot.members.splice(index, 1);
    clearTimeout(removed.freezeTimer);
    return removed;
  };

  const reapIdle = (): void => {
    const now = Date.now();
    for (const slot of slots.values()) {
      const idleTimeoutMs = slot.spec.idleTimeoutMs ?? options.idleTimeoutMs;
      for (const member of [...slot.members]) {
        if (slot.members.length <= slot.spec.minInstances) break;
        if (member.active === 0 && now - member.lastUsed >= idleTimeoutMs) {
          remove(slot, member.instance.id);
          retire(member.instance, false);
        }
      }
    }
  };
  const shortestIdle = () => Math.min(options.idleTimeoutMs, ...[...slots.values()].map((slot) => slot.spec.idleTimeoutMs ?? Infinity));
  let reaper: NodeJS.Timeout | undefined;
  const scheduleReaper = (): void => {
    clearTimeout(reaper);
    if (closed) return;
    // Checked often enough that an instance stops within about a tenth of its idle time after it.
    const every = Math.max(50, Math.min(1000, Math.floor(shortestIdle() / 10)));
    reaper = setTimeout(() => {
      reapIdle();
      scheduleReaper();
    }, every);
    reaper.unref();
  };
  scheduleReaper();

  return {
    spec: (fn) => slots.get(fn)?.spec,

    async activate(spec, instance) {
      const old = slots.get(spec.fn);
      const slot: Slot = { spec, members: instance ? [member(instance)] : [], starting: 0, waiters: [] };
      slots.set(spec.fn, slot);
      if (old) {
        // In-flight requests finish on the old version (drain waits for them); waiting ones go to the new one.
        for (const previous of old.members) {
          clearTimeout(previous.freezeTimer);
          if (previous.instance.id !== instance?.id) retire(previous.instance, false, options.switchSettleMs ?? 0);
        }
        for (const waiter of old.waiters.splice(0)) {
          clearTimeout(waiter.timer);
          acquire(spec.fn).then(waiter.resolve, waiter.reject);
        }
      }
      keepWarm(slot);
      scheduleReaper();
    },

    acquire,

    recycle(fn, instance, reason) {
      const slot = slots.get(fn);
      const current = slot ? remove(slot, instance.id) !== undefined : false;
      if (current && reason) log(`instance ${instance.id} of ${fn} ${reason}: replacing it`);
      else if (current) failed.add(instance.id);
      // A hung instance takes no new request; those in flight on it end at their own timeouts, then it stops.
      // One whose connection broke is dropped at once.
      retire(instance, reason === undefined);
      if (slot && current) {
        keepWarm(slot);
        serveWaiters(slot);
      }
      return current;
    },

    exited(instanceId) {
      if (failed.delete(instanceId)) return true;
      for (const slot of slots.values()) {
        const member = remove(slot, instanceId);
        if (!member) continue;
        retire(member.instance, true);
        keepWarm(slot);
        serveWaiters(slot);
        return true;
      }
      return false;
    },

    async deactivate(fn) {
      const slot = slots.get(fn);
      if (!slot) return;
      slots.delete(fn);
      for (const previous of slot.members.splice(0)) {
        clearTimeout(previous.freezeTimer);
        retire(previous.instance, true);
      }
      for (const waiter of slot.waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name: fn }));
      }
      // Every instance of the function being stopped is waited for, those just retired and those of an earlier
      // version still finishing their requests after a switch: their containers hold the images the delete removes
      // next. Instances still starting retire themselves when they come up (the slot is gone). A request that outlasts
      // the bound leaves its image behind (the delete says so).
      const ours = [...retiring.values()].filter((entry) => entry.fn === fn).map((entry) => entry.done);
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.deactivateWaitMs ?? DEACTIVATE_WAIT_MS)));
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
          starting: slot.starting,
          busy: slot.members.reduce((sum, member) => sum + member.active, 0),
          waiting: slot.waiters.length,
        };
      }
      return counts;
    },

    async shutdown() {
      closed = true;
      clearTimeout(reaper);
      for (const slot of slots.values()) {
        for (const previous of slot.members.splice(0)) {
          clearTimeout(previous.freezeTimer);
          retire(previous.instance, false);
        }
        for (const waiter of slot.waiters.splice(0)) {
          clearTimeout(waiter.timer);
          waiter.reject(new LambdaError('LAMBDA_ERR_NOT_DEPLOYED', { name: slot.spec.fn }));
        }
      }
      // Starts still running retire their instance when they finish (closed is set); wait for them too.
      while ([...slots.values()].some((slot) => slot.starting > 0)) await new Promise((resolve) => setTimeout(resolve, 20));
      slots.clear();
      while (retiring.size > 0) await Promise.allSettled([...retiring.values()].map((entry) => entry.done));
    },
  };
}
