// The list verb: every function with its live version and URL.
import type { Deps } from './deps.js';
import { queueSummaries, type QueueSummary } from '../queue/invocations.js';

export interface FunctionSummary {
  name: string;
  url: string;
  live: { version: number; sha: string; image: string; deployedAt: string } | null;
  /** The async queue: calls waiting or running, and when the oldest waiting one was queued. */
  queue: QueueSummary;
}

export function list(deps: Pick<Deps, 'store' | 'functionUrl'>): FunctionSummary[] {
  const queues = queueSummaries(deps);
  return deps.store.functions.list().map((fn) => {
    const live = deps.store.versions.live(fn.name);
    return {
      name: fn.name,
      url: deps.functionUrl(fn.name),
      live: live ? { version: live.number, sha: live.sha, image: live.image, deployedAt: live.createdAt } : null,
      queue: queues.get(fn.name) ?? { depth: 0, oldestWaiting: null },
    };
  });
}
