// CLI failures: the error commands throw, and the one rule that gives each kind of failure its exit status.

/**
 * Exit statuses, so scripts can tell a bad API token from a missing function from a failing one:
 *
 * | status | meaning                                                                         |
 * | ------ | ------------------------------------------------------------------------------- |
 * | 0      | the command did what it was asked                                               |
 * | 1      | anything else: server unreachable, server error (5xx other than below), conflict |
 * | 2      | usage or bad input: unknown verb or option, invalid name or JSON, HTTP 400, 413  |
 * | 3      | auth: no API token, a wrong one (HTTP 401), not allowed (HTTP 403)               |
 * | 4      | not found (HTTP 404): no such function, version or token                        |
 * | 5      | the function failed or timed out (HTTP 502, 504)                                |
 */
export const EXIT = {
  ok: 0,
  generic: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  function: 5,
} as const;

/**
 * A failure to report as ` !     message (CODE)`. `code` is a catalogue code sent by the
 * server (or the catalogue code the server would send for the same mistake); failures that
 * only the client can have, like an unreachable server, carry none.
 */
export class CliError extends Error {
  readonly code: string | undefined;
  readonly exitStatus: number;

  constructor(message: string, options: { code?: string; exitStatus?: number } = {}) {
    super(message);
    this.name = 'CliError';
    this.code = options.code;
    this.exitStatus = options.exitStatus ?? EXIT.generic;
  }
}

/** The one place HTTP statuses become exit statuses (the table on EXIT). */
export function exitStatusForHttp(status: number): number {
  if (status === 400 || status === 413) return EXIT.usage;
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 502 || status === 504) return EXIT.function;
  return EXIT.generic;
}

/** A mistake in how the command was called: exit status 2. */
export function usageError(message: string, code?: string): CliError {
  return new CliError(message, { code, exitStatus: EXIT.usage });
}
