// The tokens verbs: list, create and revoke the API keys that open the REST API and git over HTTP (admin) or only
// `auth: key` functions (invoke).
import { LambdaError } from '../errors.js';
import type { TokenRecord, TokenScope } from '../store/types.js';
import type { Deps } from '../functions/deps.js';
import { generateKey, generatedTokenRecord } from './token-check.js';
import { assertFunctionName } from '../functions/names.js';

/** A token as it is shown: never its key or hash. */
export interface TokenSummary {
  id: string;
  name: string;
  createdAt: string;
  /** To the minute; null when never used. */
  lastUsedAt: string | null;
  /** admin: the REST API, git and `auth: key` functions; invoke: only `auth: key` functions. */
  scope: TokenScope;
  /** An invoke token made for one function: its name; otherwise null. */
  function: string | null;
}

/** A token just created, with its key: the only time the key exists in plain text. */
export interface CreatedToken extends TokenSummary {
  key: string;
}

const MAX_NAME_LENGTH = 64;
/**
 * What a name may not hold: control characters, format characters (bidi overrides and isolates, zero-width ones)
 * and every separator but the plain space (line and paragraph separators, odd spaces), because names are echoed
 * raw by `lambda tokens list` and log lines, where such characters reorder or split what a reader sees.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|(?! )\p{Z}/u;

/** Every token, oldest first. */
export function listTokens(deps: Pick<Deps, 'store'>): TokenSummary[] {
  return deps.store.tokens.list().map(summary);
}

const summary = ({ id, name, createdAt, lastUsedAt, scope, function: fn }: TokenRecord): TokenSummary => ({
  id,
  name,
  createdAt,
  lastUsedAt,
  scope: scope ?? 'admin',
  function: fn ?? null,
});

/**
 * Creates a token with a random 256-bit key, stores only its SHA-256, and returns the key once.
 * `name` (optional, may be empty) says what the token is for. `scope` invoke makes a token that only opens
 * `auth: key` functions, `function` only that one (the name is checked, the function need not exist yet).
 * Throws LAMBDA_ERR_BAD_REQUEST for a name longer than 64 characters or holding control, format or
 * separator characters (the plain space aside), a scope
 * other than admin or invoke, or a function without scope invoke; LAMBDA_ERR_INVALID_NAME for a bad function name.
 */
export function createToken(deps: Pick<Deps, 'store'>, input: { name?: string; scope?: string; function?: string }): CreatedToken {
  const name = (input.name ?? '').trim();
  if (name.length > MAX_NAME_LENGTH || UNPRINTABLE.test(name)) {
    throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `a token name is at most ${MAX_NAME_LENGTH} printable characters` });
  }
  const scope = (input.scope ?? 'admin') as TokenScope;
  if (scope !== 'admin' && scope !== 'invoke') throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `a token's scope is "admin" or "invoke", got ${JSON.stringify(printable(scope))}` });
  if (input.function !== undefined && scope !== 'invoke') {
    throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: 'a token limited to one function must have scope "invoke"' });
  }
  const fn = input.function === undefined ? null : assertFunctionName(input.function);
  const key = generateKey();
  const record = { ...generatedTokenRecord(key, name), scope, function: fn };
  deps.store.tokens.insert(record);
  return { ...summary(record), key };
}

/**
 * Revokes the token `id`: its key stops working at once. Throws LAMBDA_ERR_TOKEN_NOT_FOUND for an
 * unknown id and LAMBDA_ERR_LAST_TOKEN for the only admin token left, so nobody locks themselves out.
 */
export function revokeToken(deps: Pick<Deps, 'store'>, input: { id: string }): void {
  const outcome = deps.store.tokens.removeUnlessLast(input.id);
  if (outcome === 'missing') throw new LambdaError('LAMBDA_ERR_TOKEN_NOT_FOUND', { id: printable(input.id) });
  if (outcome === 'last') throw new LambdaError('LAMBDA_ERR_LAST_TOKEN', { id: input.id });
}

function printable(id: string): string {
  const clipped = id.length > 40 ? `${id.slice(0, 40)}…` : id;
  return clipped.replace(/[^\x20-\x7e…]/g, '?');
}
