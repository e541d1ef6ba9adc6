// The versions verb: a function's versions, newest first, with commit, live marker and whether the image is kept.
import { LambdaError } from '../errors.js';
import type { VersionRecord } from '../store/types.js';
import type { Deps } from './deps.js';
import { assertFunctionName } from './names.js';

export interface VersionSummary {
  version: number;
  sha: string;
  message: string;
  author: string;
  createdAt: string;
  live: boolean;
  /** False once the image was pruned: a rollback to it rebuilds it from its commit. */
  imageKept: boolean;
  image: string;
}

/** Every version of `name`, newest first. Throws LAMBDA_ERR_INVALID_NAME, LAMBDA_ERR_FUNCTION_NOT_FOUND. */
export async function listVersions(deps: Pick<Deps, 'store' | 'engine' | 'repos'>, input: { name: string }): Promise<VersionSummary[]> {
  const name = assertFunctionName(input.name);
  const fn = deps.store.functions.get(name);
  if (!fn) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
  const versions = deps.store.lifecycle.versions(name);
  const commits = (await deps.repos.describe(name, versions.map((version) => version.sha)).catch(() => undefined)) ?? new Map<string, { message: string; author: string }>();
  const kept = await Promise.all(versions.map((version) => deps.engine.imageExists(version.image).catch(() => false)));
  return versions.map((version, index) => ({
    version: version.number,
    sha: version.sha,
    message: commits.get(version.sha)?.message ?? '',
    author: commits.get(version.sha)?.author ?? '',
    createdAt: version.createdAt,
    live: version.number === fn.liveVersion,
    imageKept: kept[index] as boolean,
    image: version.image,
  }));
}

/**
 * Finds a version by `v<N>`, `<N>` or a commit SHA prefix (4 to 40 hex digits). Throws LAMBDA_ERR_BAD_REQUEST for
 * anything else or a prefix several versions share, LAMBDA_ERR_VERSION_NOT_FOUND when none matches.
 */
export function resolveVersion(deps: Pick<Deps, 'store'>, name: string, ref: string): VersionRecord {
  const text = ref.trim();
  const numbered = /^v(\d{1,9})$/i.exec(text) ?? /^(\d{1,3})$/.exec(text);
  if (numbered) {
    const found = deps.store.versions.byNumber(name, Number(numbered[1]));
    if (!found) throw new LambdaError('LAMBDA_ERR_VERSION_NOT_FOUND', { name, version: `v${Number(numbered[1])}` });
    return found;
  }
  if (!/^[0-9a-f]{4,40}$/i.test(text)) {
    throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `version: expected "v3" or a commit SHA prefix of at least 4 hex digits, got ${JSON.stringify(text.slice(0, 80))}` });
  }
  const matches = deps.store.lifecycle.versions(name).filter((version) => version.sha.startsWith(text.toLowerCase()));
  if (matches.length === 0) throw new LambdaError('LAMBDA_ERR_VERSION_NOT_FOUND', { name, version: text });
  if (matches.length > 1) {
    throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `version: ${text} is the start of ${matches.map((v) => `v${v.number}`).join(', ')}; give more of the SHA` });
  }
  return matches[0] as VersionRecord;
}
