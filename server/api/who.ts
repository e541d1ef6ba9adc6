// Who made a change through the REST API, as its release records it.
import type http from 'node:http';
import type { ApiCall } from './types.js';

/** The API token's name and id, or `api` when the call carried none this server can name. */
export async function whoCalled({ req, context }: { req: http.IncomingMessage; context: ApiCall['context'] }): Promise<string> {
  const key = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const token = await context.identifyKey?.(key);
  return token ? `token ${token.name || '(unnamed)'} (${token.id})` : 'api';
}
