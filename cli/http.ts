// The CLI's one way to send a REST request: the API token, HTTP and network failures as CliErrors, NDJSON read as it arrives.
import { fetch, type Dispatcher, type RequestInit, type Response } from 'undici';
import { CliError, exitStatusForHttp } from './errors.js';

/** Where to send requests and with which API token. */
export interface Endpoint {
  readonly url: string;
  readonly token: string;
  /** Added to a refused token's error (HTTP 401): which key was sent and where the right one comes from. */
  readonly refused?: string;
}

export const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json' } as const;

/** `/api/v1/functions/NAME` and what follows it, the name encoded. */
export function functionPath(name: string, rest = ''): string {
  return `/api/v1/functions/${encodeURIComponent(name)}${rest}`;
}

/** Sends `path` with the token; an unreachable server or an HTTP status of 400 or more throws a CliError. */
export async function send(endpoint: Endpoint, path: string, init: RequestInit, dispatcher?: Dispatcher): Promise<Response> {
  const headers = { ...(init.headers as Record<string, string> | undefined), Authorization: `Bearer ${endpoint.token}` };
  let res: Response;
  try {
    res = await fetch(`${endpoint.url}${path}`, { ...init, headers, ...(dispatcher ? { dispatcher } : {}) });
  } catch (err) {
    throw unreachable(endpoint.url, err);
  }
  if (res.status >= 400) throw await httpFailure(res, endpoint.refused);
  return res;
}

/** The body of a successful answer as JSON. */
export async function readJson(res: Response): Promise<unknown> {
  return parseJson(await res.text());
}

/**
 * Splits a streamed body into JSON lines as bytes arrive (blank lines skipped), so progress shows while it happens;
 * a connection that breaks midway is named with `during` ("during the deploy").
 */
export async function* ndjsonLines(body: AsyncIterable<Uint8Array>, url: string, during: string): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for await (const chunk of body) {
      buffered += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, end).trim();
        buffered = buffered.slice(end + 1);
        if (line) yield parseJson(line);
      }
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`the connection to the Lambda server at ${url} broke ${during}: ${describeNetworkError(err)}`);
  }
  const rest = (buffered + decoder.decode()).trim();
  if (rest) yield parseJson(rest);
}

/** Turns an error response into a CliError, using the server's `{ error: { code, message } }` body when it has one. */
async function httpFailure(res: Response, refused: string | undefined): Promise<CliError> {
  const exitStatus = exitStatusForHttp(res.status);
  const text = await res.text().catch(() => '');
  const body = parseJsonOrUndefined(text);
  if (isRecord(body) && isRecord(body.error) && typeof body.error.message === 'string') {
    const code = typeof body.error.code === 'string' ? body.error.code : undefined;
    return new CliError(res.status === 401 && refused ? refusedMessage(body.error.message, refused) : body.error.message, { code, exitStatus });
  }
  const statusText = res.statusText ? ` ${res.statusText}` : '';
  return new CliError(`the server answered HTTP ${res.status}${statusText}`, { exitStatus });
}

/**
 * A refused key: the server's advice on how to send one (after its first colon) is what the CLI already did, so the
 * hint of which key it sent and where the right one comes from takes its place.
 */
function refusedMessage(message: string, refused: string): string {
  const colon = message.indexOf(': ');
  return `${colon === -1 ? message : message.slice(0, colon)}: ${refused}`;
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
