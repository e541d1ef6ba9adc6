// What the pool keeps per function (a slot): the live spec, its instances with their requests in flight, the
// starts under way and the requests waiting; the pool's settings, and the state its parts share.
import type { InstanceClients } from '../requests/client.js';
import type { Instance, InstanceSpec, Engine } from '../engine.js';

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

/** One request's hold on an instance; `release` it when the answer is done. */
export interface Lease {
  instance: Instance;
  spec: InstanceSpec;
  /** Resolves once the instance can take the request (at once, or when a frozen instance has thawed). */
  ready: Promise<void>;
  /** Set on the first request that waited for this instance to start: how long that start took (ms). */
  coldStartMs?: number;
  release(): void;
}

/** An instance serving its function's live version. */
export interface Member {
  instance: Instance;
  active: number;
  lastUsed: number;
  /** Whether the instance's processes run; `transition` is the freeze or thaw under way. */
  frozen: boolean;
  transition: Promise<void>;
  freezeTimer?: NodeJS.Timeout;
  /** While the instance just started hands itself to the requests that waited for it: how long its start took (ms). */
  coldStartMs?: number;
}

const READY = Promise.resolve();

export function member(instance: Instance): Member {
  return { instance, active: 0, lastUsed: Date.now(), frozen: false, transition: READY };
}

/** A request waiting for an instance with room. */
export interface Waiter {
  resolve(lease: Lease): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** One function's live version: its instances, how many are starting, and who waits. */
export interface Slot {
  spec: InstanceSpec;
  members: Member[];
  starting: number;
  waiters: Waiter[];
}

/** What every part of the pool shares. */
export interface PoolCore {
  readonly engine: Engine;
  readonly clients: InstanceClients;
  readonly log: (message: string) => void;
  readonly options: PoolOptions;
  /** The live slot of each function. */
  readonly slots: Map<string, Slot>;
  /** Set when the server stops: nothing new starts, and a start that finishes retires its instance. */
  closed: boolean;
}

/** Takes an instance out of its slot: it gets no more requests. Returns it, or undefined when it was not there. */
export function removeMember(slot: Slot, instanceId: string): Member | undefined {
  const index = slot.members.findIndex((candidate) => candidate.instance.id === instanceId);
  if (index < 0) return undefined;
  const [removed] = slot.members.splice(index, 1);
  clearTimeout(removed.freezeTimer);
  return removed;
}

/** Takes every instance out of the slot (a switch, a delete, shutdown); they get no more requests. */
export function removeAllMembers(slot: Slot): Member[] {
  const removed = slot.members.splice(0);
  for (const previous of removed) clearTimeout(previous.freezeTimer);
  return removed;
}

/** Takes every waiting request off the slot's queue, its timer stopped, for the caller to answer. */
export function takeWaiters(slot: Slot): Waiter[] {
  const taken = slot.waiters.splice(0);
  for (const waiter of taken) clearTimeout(waiter.timer);
  return taken;
}
