// One change at a time per function: a deploy, rollback, env change or delete holds the function until it ends.
import { LambdaError } from '../errors.js';

export type Change = 'deploy' | 'rollback' | 'env change' | 'delete';

const held = new Map<string, Change>();

/**
 * Takes the function for `change` and returns the release. Throws LAMBDA_ERR_DEPLOY_IN_PROGRESS when a deploy holds
 * it, LAMBDA_ERR_FUNCTION_BUSY when another change does.
 */
export function lockFunction(name: string, change: Change): () => void {
  const holder = held.get(name);
  if (holder === 'deploy') throw new LambdaError('LAMBDA_ERR_DEPLOY_IN_PROGRESS', { name });
  if (holder) throw new LambdaError('LAMBDA_ERR_FUNCTION_BUSY', { name, what: holder });
  held.set(name, change);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    held.delete(name);
  };
}

/** True while a change holds the function (background work such as pruning waits for it to end). */
export function isLocked(name: string): boolean {
  return held.has(name);
}
