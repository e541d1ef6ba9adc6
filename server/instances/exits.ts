// Instance ends, told by the engine to the pool: the pool is built from the engine, so it listens after both exist.
export type ExitListener = (instanceId: string, reason: string) => void;

export interface InstanceExits {
  /** The engine's report that an instance's process ended (exit, OOM kill, removal), with why. */
  ended(instanceId: string, reason: string): void;
  /** The one listener from now on (the pool's side). */
  listen(listener: ExitListener): void;
}

/**
 * A relay from the engine's reports to their listener. Reports before a listener are dropped: no instance is
 * started, or adopted, before the pool exists, so none can end before it listens.
 */
export function createInstanceExits(): InstanceExits {
  let listener: ExitListener | undefined;
  return {
    ended: (instanceId, reason) => listener?.(instanceId, reason),
    listen(next) {
      listener = next;
    },
  };
}
