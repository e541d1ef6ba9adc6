// The delete verb: stops a function's instances (its starts given up) and removes its versions, images (one still in
// use retried in the background), env, releases, logs and repository, then runs the cleanups other features
// registered (deps.onDelete: schedules, queues).
import { LambdaError } from '../errors.js';
import type { Deps } from './deps.js';
import { lockFunction } from './lock.js';
import { assertFunctionName } from './names.js';
import { stepLine, warnLine } from '../logs/progress-text.js';

/** An image the engine would not remove (a container of the function outlived the wait) is tried again this often. */
export interface ImageRetry {
  tries: number;
  everyMs: number;
}

export const IMAGE_RETRY: ImageRetry = { tries: 5, everyMs: 10_000 };

export interface DeleteResult {
  name: string;
  versions: number;
  images: number;
}

/**
 * Deletes `name` and everything kept for it; its URL answers 404 at once. Throws LAMBDA_ERR_INVALID_NAME,
 * LAMBDA_ERR_FUNCTION_NOT_FOUND, LAMBDA_ERR_DEPLOY_IN_PROGRESS, LAMBDA_ERR_FUNCTION_BUSY.
 */
export async function deleteFunction(deps: Deps, input: { name: string; who: string }, retry: ImageRetry = IMAGE_RETRY): Promise<DeleteResult> {
  const name = assertFunctionName(input.name);
  if (!deps.store.functions.get(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
  const unlock = lockFunction(name, 'delete');
  try {
    const versions = deps.store.lifecycle.versions(name);
    // Traffic stops first (404 from now on), then the starts under way and the instances, then what is kept.
    await deps.pool.deactivate(name);
    deps.store.lifecycle.removeFunction(name);
    // What the engine keeps per function beyond its instances (a swarm's link), which a name reused later must not find.
    await deps.engine.forgetFunction?.(name).catch((error: unknown) => deps.log(warnLine(`could not remove the link of deleted function ${name}: ${messageOf(error)}`)));
    let images = 0;
    let later = 0;
    for (const image of new Set(versions.map((version) => version.image))) {
      try {
        if (await deps.engine.imageExists(image)) {
          await deps.engine.removeImage(image);
          images += 1;
        }
      } catch (error) {
        // A container that outlived the wait still uses it: removed once that is gone, not left without an owner.
        deps.log(warnLine(`could not remove image ${image} of deleted function ${name} (${messageOf(error)}); trying again in the background`));
        removeLater(deps, name, image, retry, retry.tries);
        later += 1;
      }
    }
    deps.logs.remove(name);
    deps.metrics.functionDeleted(name);
    await deps.repos.remove(name);
    // The cleanups of features that keep more per function (schedules, queued invocations): see deps.onDelete.
    for (const cleanup of deps.onDelete) await cleanup(name);
    deps.log(stepLine(`Deleted ${name} (${versions.length} versions, ${images} images${later > 0 ? `, ${later} still in use` : ''}) for ${input.who}`));
    return { name, versions: versions.length, images };
  } finally {
    unlock();
  }
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Tries to remove a deleted function's image again after `retry.everyMs`, `left` more times. It stops once a function
 * of the same name exists again with a version on that image (the same commit pushed again: the image is its now);
 * while another change holds the name, that turn is skipped.
 */
function removeLater(deps: Deps, name: string, image: string, retry: ImageRetry, left: number): void {
  if (left <= 0) {
    deps.log(warnLine(`gave up removing image ${image} of deleted function ${name}: remove it with docker image rm once nothing uses it`));
    return;
  }
  const timer = setTimeout(() => {
    let unlock: () => void;
    try {
      unlock = lockFunction(name, 'delete');
    } catch {
      removeLater(deps, name, image, retry, left - 1);
      return;
    }
    const attempt = async (): Promise<boolean> => {
      if (deps.store.lifecycle.versions(name).some((version) => version.image === image)) return true;
      if (await deps.engine.imageExists(image)) await deps.engine.removeImage(image);
      deps.log(stepLine(`Removed image ${image} of deleted function ${name}`));
      return true;
    };
    void attempt()
      .catch(() => false)
      .then((done) => {
        unlock();
        if (!done) removeLater(deps, name, image, retry, left - 1);
      });
  }, retry.everyMs);
  // A retry never keeps the server from stopping.
  timer.unref();
}
