// What every REST adapter receives.
import type http from 'node:http';
import type { Deps } from '../functions/deps.js';
import type { Repos } from '../git/repos.js';
import type { ReadBody } from '../http/body.js';
import type { PendingRows } from '../metrics/report.js';
import type { UploadLimits } from './upload.js';

export interface ApiContext {
  deps: Deps;
  repos: Repos;
  /** `client`: who a wrong key counts against (see access/auth-limit.ts); may throw LAMBDA_ERR_AUTH_RATE_LIMITED, or LAMBDA_ERR_FORBIDDEN for an invoke-only token. */
  verifyKey(key: string | undefined, client?: string): boolean | Promise<boolean>;
  /** The token behind a key (releases record who made them); absent in tests that do not need it. */
  identifyKey?(key: string | undefined): Promise<{ id: string; name: string } | undefined>;
  /** Where uploaded directories are unpacked before they are committed. */
  workDir: string;
  /** The server's one body reader (size, budget and idle bounds). */
  readBody: ReadBody;
  limits: { upload: UploadLimits };
  /** How far back metrics are kept (default: the metrics window's) and the recorder's rows not yet in the store. */
  metrics?: { retentionMs?: number; pending?: PendingRows };
}

export interface ApiCall {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  params: Record<string, string>;
  context: ApiContext;
}

export interface ApiRoute {
  method: string;
  pattern: RegExp;
  handle(call: ApiCall): Promise<void>;
}

/** Function names in paths are matched loosely here and validated by the verb, so the error names what is wrong. */
export const NAME = '(?<name>[^/]+)';
