// The rollback verb: makes an earlier version live again as a switch (no rebuild while its image is kept),
// recorded as a release; a version whose image was pruned is rebuilt from its commit first, saying so.
import { LambdaError } from '../errors.js';
import type { ReleaseRecord, VersionRecord } from '../store/types.js';
import type { Deps } from './deps.js';
import { lockFunction } from './lock.js';
import type { Manifest } from './manifest.js';
import { assertFunctionName } from './names.js';
import type { Progress } from '../logs/progress.js';
import { afterRelease } from './prune.js';
import { syncSchedules } from '../schedules/verbs.js';
import { startInstance } from './start-instance.js';
import { storedSpec } from './spec.js';
import { resolveVersion } from './versions.js';
import { stepLine } from '../logs/progress-text.js';

export interface RollbackResult {
  name: string;
  from: number;
  to: number;
  sha: string;
  /** True when the image had been pruned and was built again from the commit. */
  rebuilt: boolean;
  release: ReleaseRecord;
  url: string;
}

/**
 * Makes version `to` (`v3`, `3` or a SHA prefix; default: the newest one below the live one) of `name` live. The live
 * version keeps serving until an instance of the target answers; requests in flight finish where they are.
 * Throws LAMBDA_ERR_INVALID_NAME, LAMBDA_ERR_FUNCTION_NOT_FOUND, LAMBDA_ERR_NOT_DEPLOYED, LAMBDA_ERR_VERSION_NOT_FOUND,
 * LAMBDA_ERR_VERSION_ALREADY_LIVE, LAMBDA_ERR_BAD_REQUEST, LAMBDA_ERR_DEPLOY_IN_PROGRESS, LAMBDA_ERR_FUNCTION_BUSY,
 * and for a rebuild LAMBDA_ERR_BUILD_FAILED; LAMBDA_ERR_HEALTHCHECK_FAILED when the target does not start.
 */
export async function rollback(deps: Deps, input: { name: string; to?: string; who: string }, progress: Progress): Promise<RollbackResult> {
  const name = assertFunctionName(input.name);
  if (!deps.store.functions.get(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
  const unlock = lockFunction(name, 'rollback');
  try {
    const live = deps.store.versions.live(name);
    if (!live) throw new LambdaError('LAMBDA_ERR_NOT_DEPLOYED', { name });
    const target = input.to === undefined || input.to === '' ? previous(deps, name, live) : resolveVersion(deps, name, input.to);
    if (target.number === live.number) throw new LambdaError('LAMBDA_ERR_VERSION_ALREADY_LIVE', { name, version: target.number });
    const short = target.sha.slice(0, 12);
    const rebuilt = !(await deps.engine.imageExists(target.image));
    if (rebuilt) await rebuild(deps, name, target, progress);
    const spec = storedSpec(target, deps.store.env.get(name));
    const instance = await startInstance(deps, spec, progress);
    let release: ReleaseRecord;
    try {
      release = deps.store.lifecycle.setLive(name, target.number, {
        fn: name,
        kind: 'rollback',
        fromVersion: live.number,
        toVersion: target.number,
        who: input.who,
        detail: rebuilt ? `commit ${short}, image rebuilt from its commit` : `commit ${short}`,
      });
    } catch (error) {
      await deps.engine.stop(instance);
      throw error;
    }
    await deps.pool.activate(spec, instance);
    afterRelease(deps, name, live.number);
    // The schedules of the version rolled back to, from its lambda.yaml, come back with it.
    syncSchedules(deps, name);
    const url = deps.functionUrl(name);
    progress({ type: 'step', phase: 'live', text: `Rolled back ${name} from v${live.number} to v${target.number}: live at ${url}`, url });
    deps.log(stepLine(`Rolled back ${name} from v${live.number} to v${target.number} (${short}) for ${input.who}`));
    return { name, from: live.number, to: target.number, sha: target.sha, rebuilt, release, url };
  } finally {
    unlock();
  }
}

/** The newest version below the live one. */
function previous(deps: Pick<Deps, 'store'>, name: string, live: VersionRecord): VersionRecord {
  const before = deps.store.lifecycle.versions(name).find((version) => version.number < live.number);
  if (!before) throw new LambdaError('LAMBDA_ERR_VERSION_NOT_FOUND', { name, version: `before v${live.number}` });
  return before;
}

async function rebuild(deps: Deps, name: string, target: VersionRecord, progress: Progress): Promise<void> {
  const short = target.sha.slice(0, 12);
  const manifest = JSON.parse(target.manifest) as Manifest;
  progress({ type: 'warn', text: `The image of v${target.number} was pruned (LAMBDA_KEEP_IMAGES): rebuilding it from commit ${short}` });
  progress({ type: 'step', phase: 'build', text: `Building image ${target.image} ...`, image: target.image });
  const source = deps.repos.source(name, target.sha);
  await deps.builder.build({ fn: name, sha: target.sha, runtime: manifest.runtime, tag: target.image, exportTo: (dir) => source.exportTo(dir) }, (line, level) =>
    progress({ type: level ?? 'detail', text: line }),
  );
}
