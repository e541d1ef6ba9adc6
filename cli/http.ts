// The CLI's one way to send a REST request: the API key, and HTTP and network failures as CliErrors.
import { fetch, type Dispatcher, type RequestInit, type Response } from 'undici';
import { CliError, exitStatusForHttp } from './errors.js';

/** Where to send requests and with which key. */
export interface Endpoint {
  readonly url: string;
  readonly apiKey: string;
}

/** Sends `path` with the key; an unreachable server or an HTTP status of 400 or more throws a CliError. */
export async function send(endpoint: Endpoint, path: string, init: RequestInit, dispatcher?: Dispatcher): Promise<Response> {
  const headers = { ...(init.headers as Record<string, string> | undefined), Authorization: `Bearer ${endpoint.apiKey}` };
  let res: Response;
  try {
    res = await fetch(`${endpoint.url}${path}`, { ...init, headers, ...(dispatcher ? { dispatcher } : {}) });
  } catch (err) {
    throw unreachable(endpoint.url, err);
  }
  if (res.status >= 400) throw await httpFailure(res);
  return res;
}

/** The body of a successful answer as JSON. */
export async function readJson(res: Response): Promise<unknown> {
  return parseJson(await res.text());
}

/** Turns an error response into a CliError, using the server's `{ error: { code, message } }` body when it has one. */
async function httpFailure(res: Response): Promise<CliError> {
  const exitStatus = exitStatusForHttp(res.status);
  const text = await res.text().catch(() => '');
  const body = parseJsonOrUndefined(text);
  if (isRecord(body) && isRecord(body.error) && typeof body.error.message === 'string') {
    const code = typeof body.error.code === 'string' ? body.error.code : undefined;
    return new CliError(body.error.message, { code, exitStatus });
  }
  const statusText = res.statusText ? ` ${res.statusText}` : '';
  return new CliError(`the server answered HTTP ${res.status}${statusText}`, { exitStatus });
}

/** Says what failed and the two usual fixes: the server is not running, or the CLI points elsewhere. */
function unreachable(url: string, err: unknown): CliError {
  return new CliError(
    `cannot reach the Lambda server at ${url} (${describeNetworkError(err)}): start it with \`npm start\`, ` +
      'or point the CLI at it with LAMBDA_URL or `lambda login URL`',
  );
}

/** fetch wraps socket errors as `TypeError: fetch failed` with the real reason in `cause`. */
export function describeNetworkError(err: unknown): string {
  const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
  // With IPv4 and IPv6 both tried, Node reports an AggregateError whose own message is empty.
  if (cause instanceof AggregateError && cause.errors.length > 0) return describeNetworkError(cause.errors[0]);
  if (cause instanceof Error) return cause.message || (cause as NodeJS.ErrnoException).code || cause.name;
  return String(cause);
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw malformed('a response');
  }
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The answer is not what this client expects, most likely a server of another version. */
export function malformed(what: string): CliError {
  return new CliError(`the server sent ${what} this client cannot read; is the server the same version as the CLI?`);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
