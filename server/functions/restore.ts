// After a (re)start: adopt the containers that still serve a live version, remove every other one, register the rest.
// Cells an earlier process left waiting are removed, never adopted; one that had become an instance is like any other.
import type { Deps } from './deps.js';
import { storedSpec } from './spec.js';

export interface RestoreReport {
  adopted: number;
  removed: number;
  registered: number;
}

/** Reconciles what the engine runs with what the store says is live. Never leaves an unlabelled or unknown container running. */
export async function restore(deps: Pick<Deps, 'store' | 'engine' | 'pool'>): Promise<RestoreReport> {
  const report: RestoreReport = { adopted: 0, removed: 0, registered: 0 };
  report.removed += (await deps.engine.cells?.reset()) ?? 0;
  // What an earlier process kept for functions that are gone (a swarm's links), before anything starts.
  await deps.engine.sweepFunctions?.(deps.store.functions.list().map((fn) => fn.name));
  const live = new Map(deps.store.versions.listLive().map((version) => [version.fn, version]));
  const containers = await deps.engine.listManaged();
  const adoptedFns = new Set<string>();
  for (const container of containers) {
    const version = live.get(container.fn);
    const instance = { id: container.instanceId, fn: container.fn, sha: container.sha, socketPath: container.socketPath };
    const keep = container.running && version?.sha === container.sha && !adoptedFns.has(container.fn) && (await deps.engine.healthy(instance));
    if (keep && version) {
      await deps.pool.activate(storedSpec(version, deps.store.env.get(version.fn)), instance);
      adoptedFns.add(container.fn);
      report.adopted += 1;
    } else {
      await deps.engine.stop({ id: container.instanceId });
      report.removed += 1;
    }
  }
  for (const version of live.values()) {
    if (adoptedFns.has(version.fn)) continue;
    await deps.pool.activate(storedSpec(version, deps.store.env.get(version.fn)));
    report.registered += 1;
  }
  // With something to serve, cells are made ready, and the live versions' files for them, in the background.
  if (live.size > 0) deps.engine.cells?.warm([...live.values()].map((version) => storedSpec(version, deps.store.env.get(version.fn))));
  return report;
}
