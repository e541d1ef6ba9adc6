// Leases on a function's instances: the least busy one with room takes a request, a bounded wait queue holds the
// rest (then 429), and an instance idle between requests is frozen, then thawed for its next one.
import { LambdaError } from '../../errors.js';
import type { Lease, Member, PoolCore, Slot, Waiter } from './slots.js';

export interface Leases {
  /**
   * A slot on an instance of the live version, waiting in the queue when all are busy.
   * Throws LAMBDA_ERR_NOT_DEPLOYED, LAMBDA_ERR_INSTANCE_START_FAILED, LAMBDA_ERR_TOO_MANY_REQUESTS.
   */
  acquire(fn: string): Promise<Lease>;
  /** Hands waiting requests to instances with room, and starts more instances while waiters outnumber the starts. */
  serveWaiters(slot: Slot): void;
  /** Freezes an instance once it has been idle for freezeAfterMs. */
  freezeLater(slot: Slot, member: Member): void;
}

/** `start`: starts one more instance for the slot (it serves the waiters once up, or fails them). */
export function createLeases(core: PoolCore, start: (slot: Slot) => void): Leases {
  const { engine, log, options, slots } = core;

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
    // One cold start per instance: the first request that waited for it takes its start time.
    const coldStartMs = member.coldStartMs;
    member.coldStartMs = undefined;
    return {
      instance: member.instance,
      spec: slot.spec,
      ready,
      coldStartMs,
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
      start(slot);
    }
  };

  const acquire = async (fn: string): Promise<Lease> => {
    const slot = slots.get(fn);
    if (!slot || core.closed) throw new LambdaError('LAMBDA_ERR_NOT_DEPLOYED', { name: fn });
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
          // One waiting for an instance that is still starting is not throttled: a cold start is answered or fails as a
          // start, never as a throttle. The start is bounded: its wait for a turn to boot and its health check each
          // end within the start timeout, and its failure rejects the waiter.
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

  return { acquire, serveWaiters, freezeLater };
}
