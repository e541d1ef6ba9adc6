// The tokens verbs: list, create and revoke the API keys that open the REST API and git over HTTP.
import { LambdaError } from '../errors.js';
import type { Deps } from './deps.js';
import { generateKey, generatedKeyRecord } from './keys.js';

/** A token as it is shown: never its key or hash. */
export interface TokenSummary {
  id: string;
  name: string;
  createdAt: string;
  /** To the minute; null when never used. */
  lastUsedAt: string | null;
}

/** A token just created, with its key: the only time the key exists in plain text. */
export interface CreatedToken extends TokenSummary {
  key: string;
}

const MAX_NAME_LENGTH = 64;

/** Every token, oldest first. */
export function listTokens(deps: Pick<Deps, 'store'>): TokenSummary[] {
  return deps.store.keys.list().map(({ id, name, createdAt, lastUsedAt }) => ({ id, name, createdAt, lastUsedAt }));
}

/**
 * Creates a token with a random 256-bit key, stores only its SHA-256, and returns the key once.
 * `name` (optional, may be empty) says what the token is for. Throws LAMBDA_ERR_BAD_REQUEST for a
 * name longer than 64 characters or holding control characters.
 */
export function createToken(deps: Pick<Deps, 'store'>, input: { name?: string }): CreatedToken {
  const name = (input.name ?? '').trim();
  if (name.length > MAX_NAME_LENGTH || /\p{Cc}/u.test(name)) {
    throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `a token name is at most ${MAX_NAME_LENGTH} printable characters` });
  }
  const key = generateKey();
  const record = generatedKeyRecord(key, name);
  deps.store.keys.insert(record);
  return { id: record.id, name: record.name, createdAt: record.createdAt, lastUsedAt: record.lastUsedAt, key };
}

/**
 * Revokes the token `id`: its key stops working at once. Throws LAMBDA_ERR_TOKEN_NOT_FOUND for an
 * unknown id and LAMBDA_ERR_LAST_TOKEN for the only token left, so nobody locks themselves out.
 */
export function revokeToken(deps: Pick<Deps, 'store'>, input: { id: string }): void {
  const outcome = deps.store.keys.removeUnlessLast(input.id);
  if (outcome === 'missing') throw new LambdaError('LAMBDA_ERR_TOKEN_NOT_FOUND', { id: printable(input.id) });
  if (outcome === 'last') throw new LambdaError('LAMBDA_ERR_LAST_TOKEN', { id: input.id });
}

function printable(id: string): string {
  const clipped = id.length > 40 ? `${id.slice(0, 40)}…` : id;
  return clipped.replace(/[^\x20-\x7e…]/g, '?');
}
