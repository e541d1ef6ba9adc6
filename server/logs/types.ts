// What the rest of the server asks of the function log store (server/logs/store.ts implements it).
import type { Progress } from './progress.js';
import type { BuildRecording } from './builds.js';
import type { LogLine } from './format.js';

export type { LogLine, LogStream } from './format.js';
export type { BuildRecording } from './builds.js';

export interface LogQuery {
  /** Only lines stamped at or after this time (ms since the epoch). */
  since?: number;
  /** Only lines of this version. */
  version?: number;
  /** Only the last `tail` matching lines of what is kept (0 or undefined: all). */
  tail?: number;
  /** After what is kept, every new line until `signal` aborts. */
  follow?: boolean;
  signal?: AbortSignal;
}

export interface FunctionLogs {
  /** True when anything (output or a deploy's) is kept for `fn`. */
  has(fn: string): boolean;
  /** The function's kept output, oldest first, in batches, then (with `follow`) new lines as they come. */
  read(fn: string, query: LogQuery): AsyncGenerator<LogLine[]>;
  /** The last deploy's output (of commit `sha` when given), in batches; nothing when none was kept. */
  readBuild(fn: string, query: { sha?: string }): AsyncGenerator<LogLine[]>;
  /** Removes everything kept for `fn` (the function was deleted). */
  remove(fn: string): void;
  /** Keeps a deploy's output as it runs; `progress` still receives every event. */
  recordBuild(fn: string, sha: string, progress: Progress): BuildRecording;
}

/** Where the host end of instance log sockets hands complete, prefixed lines. */
export interface LogAppender {
  append(fn: string, chunk: Buffer): void;
}
