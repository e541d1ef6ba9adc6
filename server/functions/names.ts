// Function-name validation: the one check every adapter runs before touching files or Docker.
import { LambdaError } from '../errors.js';

/** Names become DNS labels (RFC 1123: no trailing dash), directory names and Docker labels, so they stay this narrow. */
export const FUNCTION_NAME = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Returns `name` when valid; throws LAMBDA_ERR_INVALID_NAME otherwise. */
export function assertFunctionName(name: string): string {
  if (!FUNCTION_NAME.test(name)) throw new LambdaError('LAMBDA_ERR_INVALID_NAME', { name: printable(name) });
  return name;
}

function printable(name: string): string {
  const clipped = name.length > 80 ? `${name.slice(0, 80)}…` : name;
  return clipped.replace(/[^\x20-\x7e]/g, '?');
}
