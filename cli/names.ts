// Function names checked before any request, with the rule and the message the server uses.
import { usageError } from './errors.js';

/** A DNS label, as server/functions/names.ts checks it: the name becomes `<name>.<domain>`. */
export const FUNCTION_NAME = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Returns `name` when valid; otherwise a usage error (exit 2) with the server's code,
 * LAMBDA_ERR_INVALID_NAME, and `hint` after the rule when given.
 */
export function assertFunctionName(name: string, hint?: string): string {
  if (FUNCTION_NAME.test(name)) return name;
  const rule = 'use 1-63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash';
  throw usageError(`invalid function name "${printable(name)}": ${rule}${hint ? `; ${hint}` : ''}`, 'LAMBDA_ERR_INVALID_NAME');
}

/** Long or binary names are clipped and masked so the error line stays one readable line. */
function printable(name: string): string {
  const clipped = name.length > 80 ? `${name.slice(0, 80)}…` : name;
  return clipped.replace(/[^\x20-\x7e…]/g, '?');
}
