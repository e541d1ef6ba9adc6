// The records Lambda keeps and the Store interface over them; SQLite implements it in this folder.
import type { InvocationQueries, ScheduleQueries } from './job-types.js';

export type * from './job-types.js';

export interface FunctionRecord {
  name: string;
  createdAt: string;
  liveVersion: number | null;
}

export interface VersionRecord {
  fn: string;
  number: number;
  sha: string;
  image: string;
  /** The validated manifest as JSON text, so a version can be started again exactly as it was built. */
  manifest: string;
  createdAt: string;
}

/** How a key is hashed at rest: `sha256` for generated 256-bit keys, `scrypt` (salted) for keys a person chose. */
export type ApiKeyScheme = 'sha256' | 'scrypt';

export interface ApiKeyRecord {
  /** The public handle: a prefix of the SHA-256 hash for generated keys (found in one read), random for scrypt ones. */
  id: string;
  scheme: ApiKeyScheme;
  /** sha256: the hex digest; scrypt: `scrypt:N:r:p:<salt hex>:<hash hex>`. */
  hash: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface Store {
  functions: {
    get(name: string): FunctionRecord | undefined;
    list(): FunctionRecord[];
    ensure(name: string): FunctionRecord;
  };
  versions: {
    byNumber(fn: string, number: number): VersionRecord | undefined;
    bySha(fn: string, sha: string): VersionRecord | undefined;
    live(fn: string): VersionRecord | undefined;
    listLive(): VersionRecord[];
    /** The number the next new version of `fn` will get. */
    nextNumber(fn: string): number;
    /** Records a new version (next number) or reuses the one for the same commit, and makes it live, in one transaction. */
    publish(input: { fn: string; sha: string; image: string; manifest: string }): VersionRecord;
  };
  keys: {
    count(): number;
    get(id: string): ApiKeyRecord | undefined;
    /** Every key, oldest first. */
    list(): ApiKeyRecord[];
    withScheme(scheme: ApiKeyScheme): ApiKeyRecord[];
    insert(key: ApiKeyRecord): void;
    /** Swaps the row `id` for `key` in one transaction (a key hashed again under a new scheme). */
    replace(id: string, key: ApiKeyRecord): void;
    /** Deletes `id` unless it is the only key left, deciding both in one transaction. */
    removeUnlessLast(id: string): 'removed' | 'missing' | 'last';
    touch(id: string, at: string): void;
  };
  /** Cron schedules (issue 10). */
  schedules: ScheduleQueries;
  /** The async invocation queue and its dead letters (issue 10). */
  invocations: InvocationQueries;
  close(): void;
}
