// REST adapter for GET /api/v1/functions/:name/logs: a function's kept output as NDJSON, one line per log line;
// `follow=1` keeps the answer open with new lines until the client leaves.
import { once } from 'node:events';
import type http from 'node:http';
import { readLogs } from '../functions/logs.js';
import type { LogLine } from '../logs/types.js';
import { safeDecode } from '../http/routes.js';
import { NAME, type ApiRoute } from './types.js';

export const logsRoute: ApiRoute = {
  method: 'GET',
  pattern: new RegExp(`^/api/v1/functions/${NAME}/logs$`),
  async handle({ req, res, params, context }) {
    const query = new URL(req.url ?? '/', 'http://api').searchParams;
    const text = (key: string) => query.get(key) ?? undefined;
    const follow = flag(query, 'follow');
    const left = new AbortController();
    const lines = await readLogs(context.deps, {
      name: safeDecode(params.name ?? ''),
      since: text('since'),
      version: text('version'),
      tail: text('tail'),
      build: flag(query, 'build'),
      follow,
      signal: left.signal,
    });
    res.on('close', () => left.abort());
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    // A follower learns at once that the stream is open, before any line exists.
    if (follow) res.flushHeaders();
    for await (const batch of lines) {
      if (left.signal.aborted) break;
      if (!res.write(batch.map(toJson).join(''))) await drained(res, left.signal);
    }
    res.end();
  },
};

/** `?follow`, `?follow=1` and `?follow=true` are on; absent, `0` or `false` off. */
function flag(query: URLSearchParams, key: string): boolean {
  const value = query.get(key);
  return value !== null && value !== '0' && value !== 'false';
}

function toJson(line: LogLine): string {
  return `${JSON.stringify({ time: new Date(line.time).toISOString(), stream: line.stream, instance: line.instance, version: line.version, text: line.text })}\n`;
}

async function drained(res: http.ServerResponse, signal: AbortSignal): Promise<void> {
  try {
    await once(res, 'drain', { signal });
  } catch {
    // the client left: the loop ends on the aborted signal
  }
}
