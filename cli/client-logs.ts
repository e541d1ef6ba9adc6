// The REST call behind `lambda logs`: GET /api/v1/functions/:name/logs, read as NDJSON while it arrives.
import { Agent } from 'undici';
import { CliError } from './errors.js';
import { describeNetworkError, isRecord, malformed, parseJson, send, type Endpoint } from './http.js';

/** One log line as the server sends it. */
export interface LogEntry {
  readonly time: string;
  /** out, err, platform (START/END/REPORT and notices) or build. */
  readonly stream: string;
  /** The instance that wrote it; for build lines, the commit. */
  readonly instance: string;
  readonly version: number | null;
  readonly text: string;
}

export interface LogsQuery {
  readonly since?: string;
  readonly version?: string;
  readonly build?: boolean;
  readonly follow?: boolean;
  /** The last N lines only; 0 or absent: all. */
  readonly tail?: number;
}

/** Yields each line as it arrives; with `follow` it ends only when the server closes the stream. */
export async function* streamLogs(endpoint: Endpoint, name: string, query: LogsQuery): AsyncGenerator<LogEntry> {
  const params = new URLSearchParams();
  if (query.since !== undefined) params.set('since', query.since);
  if (query.version !== undefined) params.set('version', query.version);
  if (query.tail !== undefined && query.tail > 0) params.set('tail', String(query.tail));
  if (query.build) params.set('build', '1');
  if (query.follow) params.set('follow', '1');
  // A followed function may be silent for hours.
  const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  try {
    const res = await send(endpoint, `/api/v1/functions/${encodeURIComponent(name)}/logs${params.size > 0 ? `?${params}` : ''}`, { method: 'GET', headers: { Accept: 'application/x-ndjson' } }, dispatcher);
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of res.body) {
        buffered += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n')) !== -1) {
          const line = buffered.slice(0, end).trim();
          buffered = buffered.slice(end + 1);
          if (line) yield toEntry(parseJson(line));
        }
      }
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(`the connection to the Lambda server at ${endpoint.url} broke while reading logs: ${describeNetworkError(err)}`);
    }
    const rest = (buffered + decoder.decode()).trim();
    if (rest) yield toEntry(parseJson(rest));
  } finally {
    await dispatcher.destroy();
  }
}

function toEntry(value: unknown): LogEntry {
  if (!isRecord(value) || typeof value.time !== 'string' || typeof value.text !== 'string') throw malformed('a log line');
  return {
    time: value.time,
    stream: String(value.stream ?? 'out'),
    instance: String(value.instance ?? ''),
    version: typeof value.version === 'number' ? value.version : null,
    text: value.text,
  };
}
