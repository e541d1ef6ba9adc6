// `auth: key` at the door: which functions need an API token on their public URLs, and the check of one.
import { LambdaError } from '../errors.js';
import { clientOf } from '../access/auth-limit.js';
import { bearerToken } from '../access/token-check.js';

/** The live version's `auth` setting (undefined: no live version, nothing to protect or serve). */
export type AuthOf = (name: string) => 'none' | 'key' | undefined;

/**
 * Decides whether a public request to `name` may go on. Undefined (synchronously, so a public function's request
 * costs one lookup): it may, untouched. A promise: the function wants a key; it resolves once the request's
 * `Authorization: Bearer <token>` is a valid API token (the caller then removes that header: the platform's
 * token is not the function's to reuse) and rejects with LAMBDA_ERR_FUNCTION_KEY_REQUIRED (401), LAMBDA_ERR_FORBIDDEN (403:
 * an invoke token made for another function) or, for a client with too many wrong keys,
 * LAMBDA_ERR_AUTH_RATE_LIMITED (429).
 */
export type FunctionGuard = (name: string, authorization: string | undefined, address: string | undefined) => Promise<void> | undefined;

export function createFunctionGuard(authOf: AuthOf, verifyKey: (key: string | undefined, client: string, name: string) => Promise<boolean>): FunctionGuard {
  return (name, authorization, address) => {
    if (authOf(name) !== 'key') return undefined;
    return verifyKey(bearerToken(authorization), clientOf(address), name).then((ok) => {
      if (!ok) throw new LambdaError('LAMBDA_ERR_FUNCTION_KEY_REQUIRED', { name });
    });
  };
}
