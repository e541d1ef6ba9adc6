// The releases verb: who changed what serves a function, and when (deploys, rollbacks, env changes).
import { LambdaError } from '../errors.js';
import type { ReleaseRecord } from '../store/types.js';
import type { Deps } from './deps.js';
import { assertFunctionName } from './names.js';

/** The releases of `name`, newest first (at most `limit`, default 100). Throws LAMBDA_ERR_INVALID_NAME, LAMBDA_ERR_FUNCTION_NOT_FOUND. */
export function listReleases(deps: Pick<Deps, 'store'>, input: { name: string; limit?: number }): ReleaseRecord[] {
  const name = assertFunctionName(input.name);
  if (!deps.store.functions.get(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
  return deps.store.releases.list(name, Math.min(Math.max(input.limit ?? 100, 1), 1000));
}
