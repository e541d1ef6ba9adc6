// testDeps(): a complete Deps for unit tests, each part given by the test or a stand-in that keeps nothing.
import type { Deps, FunctionRepos, Background } from '../../server/functions/deps.js';
import type { FunctionLogs } from '../../server/logs/types.js';
import { loadConfig } from '../../server/config/load.js';
import { keepBound } from '../../server/queue/invocations.js';
import { openStore } from '../../server/store/sqlite.js';
import { NO_METRICS } from '../../server/metrics/types.js';

/**
 * A part the test did not give: any use of it throws, naming it, so a verb that reaches a part its test never set
 * up fails loudly instead of skipping a step. `then` stays undefined so the stand-in is not taken for a promise.
 */
export function unused<T extends object>(part: string): T {
  return new Proxy({} as T, {
    get(_target, key) {
      if (typeof key === 'symbol' || key === 'then') return undefined;
      throw new Error(`testDeps: the test uses deps.${part}.${key} but gave no ${part}`);
    },
  });
}

/** Logs that keep nothing: a deploy's progress still reaches its caller. */
export const noLogs: FunctionLogs = {
  has: () => false,
  read: async function* () {},
  readBuild: async function* () {},
  remove: () => {},
  recordBuild: (_fn, _sha, progress) => ({ progress, end: () => {} }),
};

/** Repositories that hold no commit: versions show no messages, pruning keeps no refs. */
export const noRepos: FunctionRepos = {
  source: (name) => {
    throw new Error(`testDeps: the test reads a commit of ${name} but gave no repos`);
  },
  describe: async () => new Map(),
  keep: async () => {},
  remove: async () => {},
};

/** The server's defaults, from the settings table and config/default.yaml, with no variable over them. */
const defaults = loadConfig({});

/** Background work that is told and does nothing, with the server's default bounds. */
export const noBackground: Background = { schedulesChanged: () => {}, queued: () => {}, queueMax: defaults.async.queueMax, keep: keepBound(defaults.limits.asyncMaxBytes) };

/**
 * Deps for a unit test: what `overrides` gives, and for the rest an in-memory store, the server's defaults, logs
 * and repositories that keep nothing, jobs and metrics that are told and ignore it, and an engine, pool, dispatch and builder
 * that throw when used.
 */
export function testDeps(overrides: Partial<Deps> = {}): Deps {
  return {
    store: overrides.store ?? openStore(':memory:'),
    engine: unused('engine'),
    pool: unused('pool'),
    dispatch: unused('dispatch'),
    builder: unused('builder'),
    functionUrl: (name) => `http://${name}.localhost:8080`,
    limits: { maxMemoryBytes: 1024 * 1024 * 1024, maxCodeBytes: 100 * 1024 * 1024 },
    log: () => {},
    logs: noLogs,
    repos: noRepos,
    keepImages: defaults.keepImages,
    onDelete: [],
    background: noBackground,
    metrics: NO_METRICS,
    ...overrides,
  };
}
