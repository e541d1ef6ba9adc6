// The REST calls the CLI makes about functions: list, invoke and deploy.
import { Agent } from 'undici';
import { CliError } from './errors.js';
import { describeNetworkError, isRecord, malformed, parseJson, readJson, send, type Endpoint } from './http.js';
import { toQueue, type QueueInfo } from './client-jobs.js';

export type { Endpoint } from './http.js';

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
  /** The async queue: calls waiting or running, and when the oldest waiting one was queued. */
  readonly queue?: QueueInfo;
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
  | { readonly type: 'result'; readonly ok: false; readonly error: DeployFailure };

/** Why a deploy was rejected; `status` is the HTTP status the same error gets outside a stream, when the server says it. */
export interface DeployFailure {
  readonly code: string;
  readonly message: string;
  readonly status?: number;
}

/** What the deploy stream yields: `uploaded` once the server has taken the archive, then its lines. */
export type DeployEvent = { readonly type: 'uploaded' } | DeployLine;

/** GET /api/v1/functions. */
export async function listFunctions(endpoint: Endpoint): Promise<FunctionSummary[]> {
  const res = await send(endpoint, '/api/v1/functions', { method: 'GET' });
  const body = await readJson(res);
  if (!isRecord(body) || !Array.isArray(body.functions)) throw malformed('the function list');
  return body.functions.map(toFunctionSummary);
}

/** POST /api/v1/functions/:name/invoke: the function's answer, as the server sent it. */
export async function invokeFunction(endpoint: Endpoint, name: string, payload: string): Promise<string> {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  const res = await send(endpoint, `${functionPath(name)}/invoke`, { method: 'POST', headers, body: payload });
  return res.text();
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
          error: {
            code: String(value.error.code ?? ''),
            message: String(value.error.message ?? 'the deploy failed'),
            ...(typeof value.status === 'number' ? { status: value.status } : {}),
          },
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
  return { name: value.name, url: typeof value.url === 'string' ? value.url : '', live, queue: toQueue(value.queue) };
}

function functionPath(name: string): string {
  return `/api/v1/functions/${encodeURIComponent(name)}`;
}
