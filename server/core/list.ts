// The list verb: every function with its live version and URL.
import type { Deps } from './deps.js';

export interface FunctionSummary {
  name: string;
  url: string;
  live: { version: number; sha: string; image: string; deployedAt: string } | null;
}

export function list(deps: Pick<Deps, 'store' | 'functionUrl'>): FunctionSummary[] {
  return deps.store.functions.list().map((fn) => {
    const live = deps.store.versions.live(fn.name);
    return {
      name: fn.name,
      url: deps.functionUrl(fn.name),
      live: live ? { version: live.number, sha: live.sha, image: live.image, deployedAt: live.createdAt } : null,
    };
  });
}
