// Which env names a function may set, in lambda.yaml and with `lambda env set`: one rule for both.

/** A POSIX-shell style variable name. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Why `name` may not be set by a function, or undefined when it may: the platform's own prefixes (LAMBDA_, AWS_) and
 * names that change how the runtime starts (NODE_OPTIONS, PATH, LD_*, PYTHON*) would let configuration replace the
 * shim or load code before it. `__proto__` is a name a JavaScript object cannot hold as its own key: it would be
 * reported as set and then silently dropped.
 */
export function reservedEnvReason(name: string): string | undefined {
  if (name === '__proto__') return '__proto__ cannot be stored as a variable name';
  const upper = name.toUpperCase();
  if (upper.startsWith('LAMBDA_') || upper.startsWith('AWS_')) return 'LAMBDA_* and AWS_* are reserved for the platform';
  if (upper === 'NODE_OPTIONS' || upper === 'PATH' || upper.startsWith('LD_') || upper.startsWith('PYTHON')) {
    return 'NODE_OPTIONS, PATH, LD_* and PYTHON* change how the runtime starts and cannot be set';
  }
  return undefined;
}
