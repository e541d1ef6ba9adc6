// The records Lambda keeps and the Store interface over them; SQLite implements it in this folder.

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

export interface ApiKeyRecord {
  id: string;
  hash: string;
  label: string;
  createdAt: string;
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
    insert(key: ApiKeyRecord): void;
  };
  close(): void;
}
