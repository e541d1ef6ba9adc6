// One change at a time per function: a deploy, rollback, env change or delete holds the function until it ends.
import { AsyncLocalStorage } from 'node:async_hooks';
import { LambdaError } from '../errors.js';

export type Change = 'deploy' | 'rollback' | 'env change' | 'delete';

interface Hold {
  change: Change;
}

const held = new Map<string, Hold>();
/** The holds taken by `withFunctionLocked` that the work running inside it may take again. */
const ours = new AsyncLocalStorage<ReadonlyMap<string, Hold>>();

/**
 * Takes the function for `change` and returns the release. Throws LAMBDA_ERR_DEPLOY_IN_PROGRESS when a deploy holds
 * it, LAMBDA_ERR_FUNCTION_BUSY when another change does. Inside `withFunctionLocked` for the same name and change, the
 * hold is already this work's: it is taken again at no cost and released by its first taker.
 */
export function lockFunction(name: string, change: Change): () => void {
  const holder = held.get(name);
  if (holder && holder.change === change && ours.getStore()?.get(name) === holder) return () => {};
  if (holder?.change === 'deploy') throw new LambdaError('LAMBDA_ERR_DEPLOY_IN_PROGRESS', { name });
  if (holder) throw new LambdaError('LAMBDA_ERR_FUNCTION_BUSY', { name, what: holder.change });
  const hold: Hold = { change };
  held.set(name, hold);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (held.get(name) === hold) held.delete(name);
  };
}

/**
 * Runs `work` holding the function for `change`, so what a caller does around the verb (a registration making the
 * function's repository and commit before its deploy, moving main after it) is one change with it: a second
 * registration of the name is refused at once instead of racing it. Work it leaves running after it ends (a timer)
 * holds nothing.
 */
export async function withFunctionLocked<T>(name: string, change: Change, work: () => Promise<T>): Promise<T> {
  const unlock = lockFunction(name, change);
  try {
    const hold = held.get(name) as Hold;
    return await ours.run(new Map([...(ours.getStore() ?? []), [name, hold]]), work);
  } finally {
    unlock();
  }
}

/** True while a change holds the function (background work such as pruning waits for it to end). */
export function isLocked(name: string): boolean {
  return held.has(name);
}
