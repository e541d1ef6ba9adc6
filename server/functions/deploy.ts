// The deploy verb: one commit → validated manifest → image → healthy instance → live, or nothing changes.
import { LambdaError } from '../errors.js';
import type { CommitSource, Deps } from './deps.js';
import { MANIFEST_FILE, parseManifest, type Manifest } from './manifest.js';
import { assertNewFunctionName } from './names.js';
import type { Progress } from '../logs/progress.js';
import { instanceSpec } from './spec.js';
import { lockFunction } from './lock.js';
import { afterRelease } from './prune.js';
import { syncSchedules } from '../schedules/verbs.js';
import { startInstance } from './start-instance.js';
import { stepLine, warnLine } from '../logs/progress-text.js';

export interface Deployment {
  name: string;
  version: number;
  sha: string;
  image: string;
  url: string;
}

/**
 * Deploys commit `source.sha` of function `name`. The live version changes only after the new image is
 * built and an instance of it answers; on any failure the old version keeps serving and nothing is left behind.
 * Throws LAMBDA_ERR_INVALID_NAME, LAMBDA_ERR_NAME_RESERVED, LAMBDA_ERR_DEPLOY_IN_PROGRESS, LAMBDA_ERR_MANIFEST_MISSING,
 * LAMBDA_ERR_MANIFEST_INVALID, LAMBDA_ERR_RUNTIME_UNSUPPORTED, LAMBDA_ERR_BUILD_FAILED, LAMBDA_ERR_HEALTHCHECK_FAILED.
 */
export async function deploy(deps: Deps, input: { name: string; source: CommitSource; who?: string }, progress: Progress): Promise<Deployment> {
  const name = assertNewFunctionName(input.name);
  const unlock = lockFunction(name, 'deploy');
  const short = input.source.sha.slice(0, 12);
  // The output is kept for `lambda logs N --build`, a failure's reason included.
  const build = deps.logs.recordBuild(name, input.source.sha, progress);
  try {
    const deployment = await deployLocked(deps, name, input.source, build.progress, input.who ?? 'git push');
    build.end();
    deps.log(stepLine(`Deployed ${name} v${deployment.version} (${short}): live at ${deployment.url}`));
    return deployment;
  } catch (error) {
    build.end(error);
    // A rejected first push leaves nothing behind, its kept output and its build's series included: with no
    // function, nothing (not even `lambda delete`) would ever remove them, and each new name would add more. The
    // pusher saw that output.
    if (!deps.store.functions.get(name)) {
      deps.logs.remove(name);
      deps.metrics.functionDeleted(name);
      await deps.engine.forgetFunction?.(name).catch(() => {});
    }
    deps.log(warnLine(`Deploy of ${name} (${short}) failed: ${error instanceof Error ? error.message : String(error)}`));
    throw error;
  } finally {
    unlock();
  }
}

/** The image of a function's commit: `lambda-fn/<name>:<short sha>`, never in a repository the platform builds. */
export function functionImage(name: string, short: string): string {
  return `lambda-fn/${name}:${short}`;
}

async function deployLocked(deps: Deps, name: string, source: CommitSource, progress: Progress, who: string): Promise<Deployment> {
  const sha = source.sha;
  const short = sha.slice(0, 12);
  const text = await source.readFile(MANIFEST_FILE);
  if (text === undefined) throw new LambdaError('LAMBDA_ERR_MANIFEST_MISSING');
  const manifest = parseManifest(text);
  if (manifest.memoryBytes > deps.limits.maxMemoryBytes) {
    const problem = `memory: ${mebibytes(manifest.memoryBytes)} is above this server's maximum of ${mebibytes(deps.limits.maxMemoryBytes)} (LAMBDA_MAX_MEMORY)`;
    throw new LambdaError('LAMBDA_ERR_MANIFEST_INVALID', { detail: problem }, { problems: [problem] });
  }
  const handler = manifest.handler ? `, handler ${manifest.handler}` : '';
  progress({ type: 'step', phase: 'manifest', text: `Reading ${MANIFEST_FILE} (runtime ${manifest.runtime}${handler})` });
  if (!deps.builder.runtimes().includes(manifest.runtime)) {
    throw new LambdaError('LAMBDA_ERR_RUNTIME_UNSUPPORTED', { runtime: manifest.runtime, available: deps.builder.runtimes().join(', ') });
  }

  const known = deps.store.versions.bySha(name, sha);
  // A version keeps the image name it was recorded with (older ones under lambda/<name>); new images go under their
  // own repository prefix, apart from the platform's lambda/base-*, lambda/cell-* and lambda/<runtime> images.
  const reused = known !== undefined && (await deps.engine.imageExists(known.image));
  const image = reused ? known.image : functionImage(name, short);
  progress({ type: 'step', phase: 'build', text: `Building image ${image} ...`, image });
  if (reused) {
    progress({ type: 'detail', text: 'Image already built for this commit, reusing it' });
  } else {
    const started = performance.now();
    try {
      await deps.builder.build({ fn: name, sha, runtime: manifest.runtime, tag: image, exportTo: (dir) => source.exportTo(dir) }, (line, level) =>
        progress({ type: level ?? 'detail', text: line }),
      );
      deps.metrics.build(name, performance.now() - started, 'success');
    } catch (error) {
      deps.metrics.build(name, performance.now() - started, 'failure');
      throw error;
    }
  }
  try {
    return await startAndPublish(deps, { name, sha, image, manifest, number: known?.number, who }, progress);
  } catch (error) {
    // An image no version will use is not left behind.
    if (!known) await deps.engine.removeImage(image).catch(() => {});
    throw error;
  }
}

async function startAndPublish(
  deps: Deps,
  input: { name: string; sha: string; image: string; manifest: Manifest; number?: number; who: string },
  progress: Progress,
): Promise<Deployment> {
  const { name, sha, image, manifest } = input;
  const short = sha.slice(0, 12);

  const number = input.number ?? deps.store.versions.nextNumber(name);
  const spec = instanceSpec({ fn: name, number, sha, image }, manifest, deps.store.env.get(name));
  const instance = await startInstance(deps, spec, progress);
  try {
    const previous = deps.store.versions.live(name)?.number ?? null;
    const published = deps.store.versions.publish({ fn: name, sha, image, manifest: JSON.stringify(manifest) });
    deps.store.releases.record({ fn: name, kind: 'deploy', fromVersion: previous, toVersion: published.number, who: input.who, detail: `commit ${short}` });
  } catch (error) {
    await deps.engine.stop(instance);
    throw error;
  }
  await deps.pool.activate(spec, instance);
  // The live version's lambda.yaml schedules replace the last one's.
  syncSchedules(deps, name);
  afterRelease(deps, name);
  const url = deps.functionUrl(name);
  progress({ type: 'step', phase: 'live', text: `Live at ${url}`, url });
  return { name, version: number, sha, image, url };
}

function mebibytes(bytes: number): string {
  return bytes % (1024 * 1024 * 1024) === 0 ? `${bytes / 1024 / 1024 / 1024}Gi` : `${Math.round(bytes / 1024 / 1024)}Mi`;
}
