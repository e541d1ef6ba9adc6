// Image pruning: the images of the newest K versions and of the live one are kept, older ones removed.
// A pruned version stays in the history; rolling back to it rebuilds its image from its commit. Builds in flight (of
// any function) are the engine's to wait for: its removals never run beside a build.
import type { VersionRecord } from '../store/types.js';
import type { Deps } from './deps.js';
import { isLocked } from './lock.js';
import { storedSpec } from './spec.js';
import { stepLine } from '../logs/progress-text.js';

const RETRY_MS = 500;
const ATTEMPTS = 60;
const SETTLE_MS = 1000;

/** The versions of `fn` whose images may go: all but the newest `keep` and the live one. */
export function prunable(versions: VersionRecord[], live: number | null | undefined, keep: number): VersionRecord[] {
  const newestFirst = [...versions].sort((a, b) => b.number - a.number);
  return newestFirst.slice(Math.max(1, keep)).filter((version) => version.number !== live);
}

/**
 * Whether version `number` of `name` may still lose its image, asked again just before the removal: no change holds
 * the function (a rollback to it may have found its image and be starting it) and it is still beyond the kept ones
 * and not live.
 */
export function stillPrunable(deps: Pick<Deps, 'store' | 'keepImages'>, name: string, number: number): boolean {
  if (isLocked(name)) return false;
  const versions = deps.store.lifecycle.versions(name);
  return prunable(versions, deps.store.functions.get(name)?.liveVersion, deps.keepImages).some((version) => version.number === number);
}

/**
 * Removes the images of the versions beyond the newest `deps.keepImages` (not the live one). An image still used by a
 * container that drains its last requests cannot go yet, nor one a change took meanwhile: it is returned in `pending`.
 * Never throws.
 */
export async function pruneImages(deps: Pick<Deps, 'store' | 'engine' | 'repos' | 'keepImages' | 'log'>, name: string): Promise<{ removed: string[]; pending: string[] }> {
  const versions = deps.store.lifecycle.versions(name);
  // Commits stay reachable whatever is pushed later, so a pruned version can be rebuilt.
  await deps.repos.keep(name, versions).catch(() => {});
  const live = deps.store.functions.get(name)?.liveVersion;
  const removed: string[] = [];
  const pending: string[] = [];
  // Two versions share a tag only if they share a commit, which they never do; still, a kept one's tag is never removed
  // (versions of identical content share an image under their own tags: the engine removes a tag, the registry's
  // deletion leaves a manifest a kept tag names).
  const kept = new Set(versions.filter((version) => !prunable(versions, live, deps.keepImages).includes(version)).map((v) => v.image));
  for (const version of prunable(versions, live, deps.keepImages)) {
    if (kept.has(version.image)) continue;
    try {
      if (!(await deps.engine.imageExists(version.image))) continue;
      // The removal may wait for builds; a rollback or deploy may take the function meanwhile and find the image.
      let wanted = false;
      await deps.engine.removeImage(version.image, () => (wanted = !stillPrunable(deps, name, version.number)));
      if (wanted) pending.push(version.image);
      else removed.push(version.image);
    } catch {
      pending.push(version.image);
    }
  }
  return { removed, pending };
}

/**
 * Prunes `name` in the background after a deploy or rollback: again every half second while an old image is still in
 * use (its last instance drains) or another change holds the function, for at most half a minute.
 */
export function schedulePrune(deps: Pick<Deps, 'store' | 'engine' | 'repos' | 'keepImages' | 'log'>, name: string): void {
  let attempt = 0;
  const run = async (): Promise<void> => {
    attempt += 1;
    let again = isLocked(name);
    if (!again) {
      const { removed, pending } = await pruneImages(deps, name);
      if (removed.length > 0) deps.log(stepLine(`Pruned ${removed.length} old image(s) of ${name}: ${removed.join(', ')}`));
      again = pending.length > 0;
    }
    if (again && attempt < ATTEMPTS) setTimeout(() => void run().catch(() => {}), RETRY_MS).unref();
  };
  // Not at once: the new version's first requests come first (engine and git calls would compete with them for CPU).
  setTimeout(() => void run().catch(() => {}), SETTLE_MS).unref();
}

/**
 * What follows every release (deploy, rollback): old images pruned in the background, and the version a rollback would
 * go to (the one it came from after a rollback, else the newest one below the live one) made ready for pre-started cells, so a rollback is a switch of a few
 * milliseconds rather than a container boot (the target is a rollback serving within 100 ms).
 */
export function afterRelease(deps: Pick<Deps, 'store' | 'engine' | 'repos' | 'keepImages' | 'log' | 'metrics'>, name: string, fromVersion?: number | null): void {
  schedulePrune(deps, name);
  const live = deps.store.versions.live(name);
  // The metrics series of versions whose images go are dropped with them: a function's series stay within its kept versions.
  const pruned = prunable(deps.store.lifecycle.versions(name), live?.number, deps.keepImages).map((version) => version.number);
  if (pruned.length > 0) deps.metrics.versionsPruned(name, pruned);
  // After a rollback, the likeliest next one goes back to where it came from.
  const previous =
    fromVersion !== undefined && fromVersion !== null
      ? deps.store.versions.byNumber(name, fromVersion)
      : live && deps.store.lifecycle.versions(name).find((version) => version.number < live.number);
  if (previous && deps.engine.cells) {
    const cells = deps.engine.cells;
    const prepare = () =>
      deps.engine
        .imageExists(previous.image)
        .then((kept) => (kept ? cells.prepare(storedSpec(previous, deps.store.env.get(name))) : undefined))
        .catch(() => {});
    setTimeout(() => void prepare(), SETTLE_MS).unref();
  }
}
