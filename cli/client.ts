// The REST calls the CLI makes, and the translation of HTTP failures into CliErrors.
import { Agent, fetch, type Dispatcher, type RequestInit, type Response } from 'undici';
import { CliError, exitStatusForHttp } from './errors.js';

/** Where to send requests and with which key. */
export interface Endpoint {
  readonly url: string;
  readonly apiKey: string;
}

export interface LiveVersion {
  readonly version: number;
  readonly sha: string;
  readonly image: string;
  readonly deployedAt: string;
}

export interface FunctionSummary {
  readonly name: string;
  readonly url: string;
  readonly live: LiveVersion | null;
}

export interface Deployment {
  readonly name: string;
  readonly version: number;
  readonly sha: string;
  readonly image: string;
  readonly url: string;
}

export type DeployPhase = 'manifest' | 'build' | 'start' | 'live';

/** One NDJSON line of a deploy stream, as the server sends it. */
export type DeployLine =
  | { readonly type: 'step'; readonly phase: DeployPhase; readonly text: string; readonly image?: string; readonly url?: string }
  | { readonly type: 'detail'; readonly text: string }
  | { readonly type: 'warn'; readonly text: string }
  | { readonly type: 'result'; readonly ok: true; readonly deployment: Deployment }
  | { readonly type: 'result'; readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

/** What the deploy stream yields: `uploaded` once the server has taken the archive, then its lines. */
export type DeployEvent = { readonly type: 'uploaded' } | DeployLine;

export type InvokeOutcome =
  | { readonly kind: 'result'; readonly body: string }
  | { readonly kind: 'queued'; readonly invocationId: string; readonly body: string };

/** GET /api/v1/functions. */
export async function listFunctions(endpoint: Endpoint): Promise<FunctionSummary[]> {
  const res = await send(endpoint, '/api/v1/functions', { method: 'GET' });
  const body = await readJson(res);
  if (!isRecord(body) || !Array.isArray(body.functions)) throw malformed('the function list');
  return body.functions.map(toFunctionSummary);
}

/** POST /api/v1/functions/:name/invoke; `async` queues the call instead of waiting for its result. */
export async function invokeFunction(
  endpoint: Endpoint,
  name: string,
  payload: string,
  options: { async: boolean },
): Promise<InvokeOutcome> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (options.async) headers['X-Lambda-Invocation-Type'] = 'Event';
  const res = await send(endpoint, `${functionPath(name)}/invoke`, { method: 'POST', headers, body: payload });
  const body = await res.text();
  if (res.status !== 202) return { kind: 'result', body };
  const parsed = parseJson(body);
  if (!isRecord(parsed) || typeof parsed.invocationId !== 'string') throw malformed('the queued invocation');
  return { kind: 'queued', invocationId: parsed.invocationId, body };
}

/**
 * POST /api/v1/functions/:name/deploy with a gzipped tar, yielding the NDJSON progress lines
 * as they arrive. A failure before streaming starts throws; one reported in the stream is the
 * final `result` line, which the caller turns into an error.
 */
export async function* deployArchive(endpoint: Endpoint, name: string, archive: Uint8Array): AsyncGenerator<DeployEvent> {
  // Builds can be silent for minutes (dependency installs); the server reports its own failures.
  const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  try {
    const res = await send(
      endpoint,
      `${functionPath(name)}/deploy`,
      { method: 'POST', headers: { 'Content-Type': 'application/gzip', Accept: 'application/x-ndjson' }, body: archive },
      dispatcher,
    );
    yield { type: 'uploaded' };
    if (!res.body) return;
    for await (const line of ndjsonLines(res.body, endpoint.url)) yield toDeployLine(line);
  } finally {
    await dispatcher.destroy();
  }
}

async function send(endpoint: Endpoint, path: string, init: RequestInit, dispatcher?: Dispatcher): Promise<Response> {
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

function unreachable(url: string, err: unknown): CliError {
  return new CliError(`cannot reach the Lambda server at ${url}: ${describeNetworkError(err)}`);
}

/** fetch wraps socket errors as `TypeError: fetch failed` with the real reason in `cause`. */
function describeNetworkError(err: unknown): string {
  const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
  // With IPv4 and IPv6 both tried, Node reports an AggregateError whose own message is empty.
  if (cause instanceof AggregateError && cause.errors.length > 0) return describeNetworkError(cause.errors[0]);
  if (cause instanceof Error) return cause.message || (cause as NodeJS.ErrnoException).code || cause.name;
  return String(cause);
}

/** Splits a response body into lines as bytes arrive; blank lines are skipped. */
async function* ndjsonLines(body: AsyncIterable<Uint8Array>, url: string): AsyncGenerator<unknown> {
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
    throw new CliError(`the connection to the Lambda server at ${url} broke during the deploy: ${describeNetworkError(err)}`);
  }
  const rest = (buffered + decoder.decode()).trim();
  if (rest) yield parseJson(rest);
}

function toDeployLine(value: unknown): DeployLine {
  if (!isRecord(value) || typeof value.type !== 'string') throw malformed('a deploy progress line');
  const text = typeof value.text === 'string' ? value.text : '';
  switch (value.type) {
    case 'step':
      return {
        type: 'step',
        phase: value.phase as DeployPhase,
        text,
        image: typeof value.image === 'string' ? value.image : undefined,
        url: typeof value.url === 'string' ? value.url : undefined,
      };
    case 'detail':
    case 'warn':
      return { type: value.type, text };
    case 'result':
      if (value.ok === true && isRecord(value.deployment)) return { type: 'result', ok: true, deployment: toDeployment(value.deployment) };
      if (value.ok === false && isRecord(value.error)) {
        return {
          type: 'result',
          ok: false,
          error: { code: String(value.error.code ?? ''), message: String(value.error.message ?? 'the deploy failed') },
        };
      }
      throw malformed('the deploy result');
    default:
      // A newer server may send kinds of lines this client does not know; show their text as detail.
      return { type: 'detail', text };
  }
}

function toDeployment(value: Record<string, unknown>): Deployment {
  return {
    name: String(value.name ?? ''),
    version: Number(value.version),
    sha: String(value.sha ?? ''),
    image: String(value.image ?? ''),
    url: String(value.url ?? ''),
  };
}

function toFunctionSummary(value: unknown): FunctionSummary {
  if (!isRecord(value) || typeof value.name !== 'string') throw malformed('the function list');
  const live = isRecord(value.live)
    ? {
        version: Number(value.live.version),
        sha: String(value.live.sha ?? ''),
        image: String(value.live.image ?? ''),
        deployedAt: String(value.live.deployedAt ?? ''),
      }
    : null;
  return { name: value.name, url: typeof value.url === 'string' ? value.url : '', live };
}

function functionPath(name: string): string {
  return `/api/v1/functions/${encodeURIComponent(name)}`;
}

async function readJson(res: Response): Promise<unknown> {
  return parseJson(await res.text());
}

function parseJson(text: string): unknown {
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

function malformed(what: string): CliError {
  return new CliError(`the server sent ${what} this client cannot read; is the server the same version as the CLI?`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
