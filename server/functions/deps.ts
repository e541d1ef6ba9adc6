// What core verbs depend on: interfaces only, each built once in server/main.ts before Deps is put together.
import type { KeepBound, Store } from '../store/types.js';
import type { Engine } from '../instances/engine.js';
import type { InstancePool } from '../instances/pool/pool.js';
import type { Dispatch } from '../instances/requests/dispatch.js';
import type { Builder } from '../builder/build.js';
import type { FunctionLogs } from '../logs/types.js';
import type { Metrics } from '../metrics/types.js';

/** The files of one commit, wherever they live (a bare repo, a quarantined push). */
export interface CommitSource {
  sha: string;
  /** The commit's manifest text; undefined when it has none; throws LAMBDA_ERR_MANIFEST_INVALID when it is over its limit. */
  readFile(file: string): Promise<string | undefined>;
  exportTo(dir: string): Promise<void>;
}

/** A function's git repository, as versions, rollback and delete need it; server/git implements it. */
export interface FunctionRepos {
  /** The files of commit `sha` of `name` (to rebuild a version whose image was pruned). */
  source(name: string, sha: string): CommitSource;
  /** Subject line and author of each commit found (missing ones are left out). */
  describe(name: string, shas: string[]): Promise<Map<string, { message: string; author: string }>>;
  /** Keeps each version's commit reachable (a ref per version), so a force-push cannot let git collect it. */
  keep(name: string, versions: { number: number; sha: string }[]): Promise<void>;
  /** Removes the repository. */
  remove(name: string): Promise<void>;
}

export interface Deps {
  store: Store;
  engine: Engine;
  pool: InstancePool;
  dispatch: Dispatch;
  builder: Builder;
  /** The public URL a function answers at, e.g. http://greet.localhost:8080. */
  functionUrl(name: string): string;
  /** Server-wide bounds a version must fit in. */
  limits: { maxMemoryBytes: number; maxCodeBytes: number };
  /** One line for the operator's terminal (journald under systemd), e.g. that a deploy went live. */
  log(line: string): void;
  /** Functions' kept output and deploy output (server/logs/). */
  logs: FunctionLogs;
  /** The function repositories. */
  repos: FunctionRepos;
  /** Images of this many newest versions are kept, older ones pruned (LAMBDA_KEEP_IMAGES). */
  keepImages: number;
  /**
   * More cleanups `lambda delete` runs, after instances, versions, images, env, logs and the repository are gone
   * (schedules, queued invocations: each feature that keeps something per function adds its own here).
   */
  onDelete: ((name: string) => Promise<void>)[];
  /** The scheduler and the async queue's workers (server/schedules/ and server/queue/), told when their rows change. */
  background: Background;
  /** Where builds, deletes and pruned versions are counted (server/metrics/; NO_METRICS when metrics are off). */
  metrics: Metrics;
}

/** What the verbs tell the work the server does in the background: the scheduler and the async queue's workers. */
export interface Background {
  /** `fn`'s schedules changed in the store: arm new ones, cancel removed ones. */
  schedulesChanged(fn: string): void;
  /** A call for `fn` was queued. */
  queued(fn: string): void;
  /** Calls one function may have waiting (LAMBDA_ASYNC_QUEUE_MAX). */
  readonly queueMax: number;
  /** Bytes one function's calls may keep (LAMBDA_ASYNC_MAX_BYTES). */
  readonly keep: KeepBound;
}
