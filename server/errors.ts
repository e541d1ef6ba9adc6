// The one catalogue of Lambda's errors: stable codes, message templates and transport-neutral kinds.

/** What kind of failure an error is; each transport maps kinds to its own status once. */
export type ErrorKind =
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'too_many'
  | 'timeout'
  | 'too_slow'
  | 'upstream'
  | 'unavailable'
  | 'internal';

interface ErrorSpec {
  readonly kind: ErrorKind;
  readonly message: string;
}

/** Every error Lambda can report. Codes are never reused; docs/errors.md lists them all. */
export const ERRORS = {
  LAMBDA_ERR_INVALID_NAME: {
    kind: 'invalid',
    message: 'invalid function name "{name}": use 1-63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash',
  },
  LAMBDA_ERR_NAME_RESERVED: { kind: 'invalid', message: 'the function name "{name}" is reserved: {reason}' },
  LAMBDA_ERR_MANIFEST_MISSING: { kind: 'invalid', message: 'lambda.yaml is missing at the repository root' },
  LAMBDA_ERR_MANIFEST_INVALID: { kind: 'invalid', message: 'lambda.yaml: {detail}' },
  LAMBDA_ERR_RUNTIME_UNSUPPORTED: {
    kind: 'invalid',
    message: 'runtime "{runtime}" has no buildpack on this server (available: {available})',
  },
  LAMBDA_ERR_BAD_REQUEST: { kind: 'invalid', message: '{detail}' },
  LAMBDA_ERR_BAD_PAYLOAD: { kind: 'invalid', message: 'the payload is not valid JSON: {detail}' },
  LAMBDA_ERR_BUILD_FAILED: { kind: 'invalid', message: 'the image build failed: {detail}' },
  LAMBDA_ERR_HEALTHCHECK_FAILED: {
    kind: 'invalid',
    message: 'the new version did not become healthy: {detail}',
  },
  LAMBDA_ERR_UNAUTHORIZED: { kind: 'unauthorized', message: 'a valid API token is required: send its key as `Authorization: Bearer <key>`' },
  LAMBDA_ERR_FUNCTION_KEY_REQUIRED: { kind: 'unauthorized', message: 'function "{name}" has auth: key: send Authorization: Bearer <API token> (`lambda tokens create --invoke --function {name}` makes one for a caller)' },
  LAMBDA_ERR_AUTH_RATE_LIMITED: {
    kind: 'too_many',
    message: 'too many wrong API keys from this address; retry in {seconds}s',
  },
  LAMBDA_ERR_FORBIDDEN: { kind: 'forbidden', message: 'this API token only invokes {what}: it does not open {where}' },
  LAMBDA_ERR_SERVICE_WORKER_REFUSED: {
    kind: 'forbidden',
    message: 'no service worker is registered through /fn/ paths, which every function shares: serve it from {name}\'s own host',
  },
  LAMBDA_ERR_FUNCTION_NOT_FOUND: { kind: 'not_found', message: 'function "{name}" does not exist' },
  LAMBDA_ERR_NOT_DEPLOYED: { kind: 'not_found', message: 'function "{name}" has no live version (none deployed yet, or it is being deleted)' },
  LAMBDA_ERR_ROUTE_NOT_FOUND: { kind: 'not_found', message: 'no route for {method} {path}' },
  LAMBDA_ERR_DEPLOY_IN_PROGRESS: {
    kind: 'conflict',
    message: 'function "{name}" is already being deployed; try again when that deploy ends',
  },
  LAMBDA_ERR_BODY_TOO_LARGE: { kind: 'too_large', message: 'the request body is over the {limit} limit' },
  LAMBDA_ERR_CODE_TOO_LARGE: {
    kind: 'too_large',
    message: "the function's files take more than {limit} unpacked (LAMBDA_MAX_CODE_SIZE)",
  },
  LAMBDA_ERR_BODY_TIMEOUT: { kind: 'too_slow', message: 'the request body stalled: no data for {idle}' },
  LAMBDA_ERR_SERVER_BUSY: {
    kind: 'unavailable',
    message: 'the server is receiving too many request bodies at once ({budget} in flight); try again shortly',
  },
  LAMBDA_ERR_TOO_MANY_REQUESTS: {
    kind: 'too_many',
    message: 'function "{name}" is at its maxInstances and busy: {detail}; retry shortly',
  },
  LAMBDA_ERR_FUNCTION_ERROR: { kind: 'upstream', message: 'the function failed: {errorType}: {errorMessage}' },
  LAMBDA_ERR_FUNCTION_CRASHED: {
    kind: 'upstream',
    message: 'the function instance of "{name}" exited or closed the connection; a fresh one replaces it',
  },
  LAMBDA_ERR_RESPONSE_TOO_LARGE: {
    kind: 'upstream',
    message: 'function "{name}" answered with more than {limit}, the most an answer may be; the instance was recycled',
  },
  LAMBDA_ERR_FUNCTION_TIMEOUT: {
    kind: 'timeout',
    message: 'function "{name}" did not answer within {timeout}; the instance was recycled',
  },
  LAMBDA_ERR_INSTANCE_START_FAILED: {
    kind: 'unavailable',
    message: 'no instance of "{name}" could be started: {detail}',
  },
  LAMBDA_ERR_ENGINE_UNAVAILABLE: { kind: 'unavailable', message: 'the container engine failed: {detail}' },
  LAMBDA_ERR_DASHBOARD_NOT_BUILT: { kind: 'unavailable', message: 'the dashboard is not built: run npm run build' },
  LAMBDA_ERR_INTERNAL: { kind: 'internal', message: 'internal error: {detail}' },
  LAMBDA_ERR_TOKEN_NOT_FOUND: { kind: 'not_found', message: 'API token "{id}" does not exist' },
  LAMBDA_ERR_LAST_TOKEN: {
    kind: 'conflict',
    message: 'API token "{id}" is the only admin token left; create another with `lambda tokens create` before revoking it',
  },
  LAMBDA_ERR_VERSION_NOT_FOUND: { kind: 'not_found', message: 'function "{name}" has no version {version}' },
  LAMBDA_ERR_FUNCTION_BUSY: {
    kind: 'conflict',
    message: 'function "{name}" is busy with a {what}; try again when it ends',
  },
  LAMBDA_ERR_VERSION_ALREADY_LIVE: { kind: 'conflict', message: 'v{version} of "{name}" is already live' },
  LAMBDA_ERR_ENV_RESERVED: { kind: 'invalid', message: 'env {key}: {reason}' },
  LAMBDA_ERR_SSH_KEY_INVALID: { kind: 'invalid', message: 'not an SSH public key: {detail}' },
  LAMBDA_ERR_SSH_KEY_EXISTS: { kind: 'conflict', message: 'the SSH key {fingerprint} is already added' },
  LAMBDA_ERR_SSH_KEY_NOT_FOUND: { kind: 'not_found', message: 'SSH key "{id}" does not exist' },
  LAMBDA_ERR_SSH_REFUSED: { kind: 'forbidden', message: '{detail}' },
  LAMBDA_ERR_BAD_CRON: { kind: 'invalid', message: 'cron "{cron}": {detail}' },
  LAMBDA_ERR_SCHEDULE_NOT_FOUND: { kind: 'not_found', message: 'function "{name}" has no schedule {id}' },
  LAMBDA_ERR_SCHEDULE_IN_MANIFEST: {
    kind: 'conflict',
    message: 'schedule {id} of "{name}" comes from lambda.yaml: remove it there and deploy, or roll back',
  },
  LAMBDA_ERR_INVOCATION_NOT_FOUND: { kind: 'not_found', message: 'function "{name}" has no {what} invocation {id}' },
  LAMBDA_ERR_QUEUE_FULL: {
    kind: 'too_many',
    message: 'function "{name}" has {depth} async calls waiting: no room for another (LAMBDA_ASYNC_QUEUE_MAX calls, LAMBDA_ASYNC_MAX_BYTES bytes); retry later',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** An error from the catalogue; `details` carries structured extras for transports that can show them. */
export class LambdaError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, params: Record<string, string | number> = {}, details: Record<string, unknown> = {}) {
    super(render(ERRORS[code].message, params));
    this.name = 'LambdaError';
    this.code = code;
    this.kind = ERRORS[code].kind;
    this.details = details;
  }
}

function render(template: string, params: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => escapeControl(String(params[key] ?? `{${key}}`)));
}

/**
 * Control characters shown as escapes (`\x1b`, `\n`): text that echoes user input (a manifest key, a ref, a
 * function's output) must not be able to move a terminal's cursor or forge a line of its own.
 */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** Any thrown value as a LambdaError, so transports deal with one shape. */
export function asLambdaError(error: unknown): LambdaError {
  if (error instanceof LambdaError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new LambdaError('LAMBDA_ERR_INTERNAL', { detail });
}
