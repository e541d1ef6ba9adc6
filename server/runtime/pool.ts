// Which instance serves each function: the live spec, its warm instance, cold starts, recycling and retirement.
import { LambdaError } from '../errors.js';
import type { InstanceClients } from './instance-client.js';
import type { Instance, InstanceSpec, Runtime } from './types.js';

interface Slot {
  spec: InstanceSpec;
  instance?: Instance;
  starting?: Promise<Instance>;
}

export interface InstancePool {
  /** The live spec of `fn`, if it has one. */
  spec(fn: string): InstanceSpec | undefined;
  /** Makes `spec` live for its function, served by `instance` when given (else started on first use); retires the old one. */
  activate(spec: InstanceSpec, instance?: Instance): Promise<void>;
  /** A healthy instance of the live version, cold-starting one when none runs. Throws LAMBDA_ERR_NOT_DEPLOYED, LAMBDA_ERR_INSTANCE_START_FAILED. */
  acquire(fn: string): Promise<Instance>;
  /**
   * Kills a failed or hung instance and starts a fresh one in the background. Idempotent: the requests that were
   * in flight on the same instance may all report it; only the first call acts, and it alone returns true.
   */
  recycle(fn: string, instance: Instance): boolean;
  /** Stops every instance (server shutdown). */
  shutdown(): Promise<void>;
}

export function createPool(runtime: Runtime, clients: InstanceClients, log: (message: string) => void): InstancePool {
  const slots = new Map<string, Slot>();
  const retiring = new Map<string, Promise<void>>();

  const retire = (instance: Instance, hard: boolean): void => {
    if (retiring.has(instance.id)) return;
    const done = (async () => {
      await (hard ? clients.destroy(instance.id) : clients.drain(instance.id));
      await runtime.stop(instance);
    })()
      .catch((error: unknown) => log(`could not stop instance ${instance.id}: ${String(error)}`))
      .finally(() => retiring.delete(instance.id));
    retiring.set(instance.id, done);
  };

  const startFor = (slot: Slot): Promise<Instance> => {
    const spec = slot.spec;
    const starting = runtime
      .start(spec)
      .catch((error: unknown) => {
        throw new LambdaError('LAMBDA_ERR_INSTANCE_START_FAILED', { name: spec.fn, detail: error instanceof Error ? error.message : String(error) });
      })
      .then((instance) => {
        if (slots.get(spec.fn) === slot) {
          slot.instance = instance;
          return instance;
        }
        // A deploy switched versions while this one started: it is not live any more, so serve from the new one.
        retire(instance, true);
        return acquire(spec.fn);
      })
      .finally(() => {
        if (slot.starting === starting) slot.starting = undefined;
      });
    slot.starting = starting;
    return starting;
  };

  const acquire = async (fn: string): Promise<Instance> => {
    const slot = slots.get(fn);
    if (!slot) throw new LambdaError('LAMBDA_ERR_NOT_DEPLOYED', { name: fn });
    if (slot.instance) return slot.instance;
    return slot.starting ?? startFor(slot);
  };

  return {
    spec: (fn) => slots.get(fn)?.spec,

    async activate(spec, instance) {
      const old = slots.get(spec.fn);
      slots.set(spec.fn, { spec, instance });
      if (old?.instance && old.instance.id !== instance?.id) retire(old.instance, false);
    },

    acquire,

    recycle(fn, instance) {
      const slot = slots.get(fn);
      const current = slot?.instance?.id === instance.id;
      if (slot && current) {
        slot.instance = undefined;
        (slot.starting ?? startFor(slot)).catch((error: unknown) => log(`replacement instance for ${fn} failed: ${String(error)}`));
      }
      retire(instance, true);
      return current;
    },

    async shutdown() {
      for (const slot of slots.values()) {
        if (slot.instance) retire(slot.instance, false);
        slot.instance = undefined;
      }
      const pending = [...slots.values()].map((slot) => slot.starting).filter(Boolean) as Promise<Instance>[];
      const started = await Promise.allSettled(pending);
      for (const result of started) if (result.status === 'fulfilled') retire(result.value, true);
      slots.clear();
      await Promise.allSettled([...retiring.values()]);
    },
  };
}
