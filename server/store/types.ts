// The records Lambda keeps and the Store interface over them; SQLite implements it in this folder.
import type { InvocationQueries } from './invocation-types.js';
import type { ScheduleQueries } from './schedule-types.js';
import type { MetricQueries } from './metric-types.js';

export type * from './invocation-types.js';
export type * from './schedule-types.js';
export type * from './metric-types.js';

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
export type TokenScheme = 'sha256' | 'scrypt';
/** What a key opens: admin, everything; invoke, only `auth: key` functions (one, when `function` is set). */
export type TokenScope = 'admin' | 'invoke';

export interface TokenRecord {
  /** The public handle: a prefix of the SHA-256 hash for generated keys (found in one read), random for scrypt ones. */
  id: string;
  scheme: TokenScheme;
  /** sha256: the hex digest; scrypt: `scrypt:N:r:p:<salt hex>:<hash hex>`. */
  hash: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  /** Absent: admin. */
  scope?: TokenScope;
  /** For an invoke token: the one function it opens; null or absent: every `auth: key` function. */
  function?: string | null;
  /** Made from LAMBDA_API_KEY at a start (a start with another value revokes it). */
  seeded?: boolean;
}

/** One change of what serves a function: a deploy, a rollback, or an env change of the live version. */
export interface ReleaseRecord {
  id: number;
  fn: string;
  kind: 'deploy' | 'rollback' | 'env';
  /** The version live before; null for a function's first deploy. */
  fromVersion: number | null;
  toVersion: number;
  /** Who asked: an API token's name and id, or how it came (git push). */
  who: string;
  /** What changed, e.g. "set GREETING; unset DEBUG" or "rebuilt from its commit". */
  detail: string;
  createdAt: string;
}

export type NewRelease = Omit<ReleaseRecord, 'id' | 'createdAt'>;

/** An SSH public key allowed to log in as `lambda`. */
export interface SshKeyRecord {
  /** The public handle: the first 12 hex digits of the key blob's SHA-256. */
  id: string;
  name: string;
  /** The key type, e.g. ssh-ed25519. */
  algorithm: string;
  /** The key blob, base64, as in an OpenSSH .pub file. */
  publicKey: string;
  /** `SHA256:` and the unpadded base64 of the blob's SHA-256, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
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
  tokens: {
    count(): number;
    get(id: string): TokenRecord | undefined;
    /** Every key, oldest first. */
    list(): TokenRecord[];
    withScheme(scheme: TokenScheme): TokenRecord[];
    insert(key: TokenRecord): void;
    /** Swaps the row `id` for `key` in one transaction (a key hashed again under a new scheme). */
    replace(id: string, key: TokenRecord): void;
    /** Deletes `id` unless it is the only admin key left, deciding both in one transaction. */
    removeUnlessLast(id: string): 'removed' | 'missing' | 'last';
    /** Deletes every seeded key but `id`; returns how many. */
    removeSeededExcept(id: string): number;
    touch(id: string, at: string): void;
  };
  /** Releases, newest first. */
  releases: {
    record(release: NewRelease): ReleaseRecord;
    list(fn: string, limit?: number): ReleaseRecord[];
  };
  /** Env vars set with `lambda env set`, per function (never in git). */
  env: {
    get(fn: string): Record<string, string>;
    /** Replaces the whole set of `fn` and records `release` (when given), in one transaction. */
    replace(fn: string, env: Record<string, string>, release?: NewRelease): ReleaseRecord | undefined;
  };
  /** What versions, rollback and delete need beyond `versions`. */
  lifecycle: {
    /** Every version of `fn`, newest first. */
    versions(fn: string): VersionRecord[];
    /** Makes version `number` live and records `release`, in one transaction. */
    setLive(fn: string, number: number, release: NewRelease): ReleaseRecord;
    /** Removes the function and everything of it the database holds (versions, releases, env). */
    removeFunction(fn: string): boolean;
  };
  sshKeys: {
    list(): SshKeyRecord[];
    byFingerprint(fingerprint: string): SshKeyRecord | undefined;
    /** False when a key with the same fingerprint is already there. */
    insert(key: SshKeyRecord): boolean;
    /** Deletes by id or fingerprint; false when neither matched. */
    remove(idOrFingerprint: string): boolean;
    touch(id: string, at: string): void;
  };
  /** Cron schedules. */
  schedules: ScheduleQueries;
  /** The async invocation queue and its dead letters. */
  invocations: InvocationQueries;
  /** Per-minute invocation metrics. */
  metrics: MetricQueries;
  close(): void;
}
