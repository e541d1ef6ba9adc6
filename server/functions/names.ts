// Function-name validation: the one check every adapter runs before touching files or Docker, and the names no new function may take.
import { LambdaError } from '../errors.js';

/** Names become DNS labels (RFC 1123: no trailing dash), directory names and Docker labels, so they stay this narrow. */
export const FUNCTION_NAME = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Names whose host, `<name>.<domain>`, the server keeps for itself: `dashboard.<domain>` serves the dashboard (routing
 * gives that host to no function), and a function of that name would be a function no subdomain reaches.
 */
export const RESERVED_NAMES: Readonly<Record<string, string>> = {
  dashboard: 'its host, dashboard.<domain>, serves the dashboard',
};

/** Returns `name` when valid; throws LAMBDA_ERR_INVALID_NAME otherwise. */
export function assertFunctionName(name: string): string {
  if (!FUNCTION_NAME.test(name)) throw new LambdaError('LAMBDA_ERR_INVALID_NAME', { name: printable(name) });
  return name;
}

/**
 * As assertFunctionName, for a name that is about to become a function (a deploy, a push's new repository): a
 * reserved name throws LAMBDA_ERR_NAME_RESERVED. One made before the name was reserved can still be read and deleted.
 */
export function assertNewFunctionName(name: string): string {
  assertFunctionName(name);
  const reason = Object.hasOwn(RESERVED_NAMES, name) ? RESERVED_NAMES[name] : undefined;
  if (reason) throw new LambdaError('LAMBDA_ERR_NAME_RESERVED', { name, reason });
  return name;
}

function printable(name: string): string {
  const clipped = name.length > 80 ? `${name.slice(0, 80)}…` : name;
  return clipped.replace(/[^\x20-\x7e]/g, '?');
}
