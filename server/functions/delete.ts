// The delete verb: stops a function's instances and removes its versions, images, env, releases, logs and
// repository, then runs the cleanups other features registered (deps.onDelete: schedules, queues).
import { LambdaError } from '../errors.js';
import type { Deps } from './deps.js';
import { lockFunction } from './lock.js';
import { assertFunctionName } from './names.js';
import { stepLine, warnLine } from '../logs/progress-text.js';

export interface DeleteResult {
  name: string;
  versions: number;
  images: number;
}

/**
 * Deletes `name` and everything kept for it; its URL answers 404 at once. Throws LAMBDA_ERR_INVALID_NAME,
 * LAMBDA_ERR_FUNCTION_NOT_FOUND, LAMBDA_ERR_DEPLOY_IN_PROGRESS, LAMBDA_ERR_FUNCTION_BUSY.
 */
export async function deleteFunction(deps: Deps, input: { name: string; who: string }): Promise<DeleteResult> {
  const name = assertFunctionName(input.name);
  if (!deps.store.functions.get(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
  const unlock = lockFunction(name, 'delete');
  try {
    const versions = deps.store.lifecycle.versions(name);
    // Traffic stops first (404 from now on), then the instances, then what is kept.
    await deps.pool.deactivate(name);
    deps.store.lifecycle.removeFunction(name);
    let images = 0;
    for (const image of new Set(versions.map((version) => version.image))) {
      try {
        if (await deps.engine.imageExists(image)) {
          await deps.engine.removeImage(image);
          images += 1;
        }
      } catch (error) {
        deps.log(warnLine(`could not remove image ${image} of deleted function ${name}: ${error instanceof Error ? error.message : String(error)}`));
      }
    }
    deps.logs.remove(name);
    deps.metrics.functionDeleted(name);
    await deps.repos.remove(name);
    // The cleanups of features that keep more per function (schedules, queued invocations): see deps.onDelete.
    for (const cleanup of deps.onDelete) await cleanup(name);
    deps.log(stepLine(`Deleted ${name} (${versions.length} versions, ${images} images) for ${input.who}`));
    return { name, versions: versions.length, images };
  } finally {
    unlock();
  }
}
