// The REST calls the CLI makes about API tokens: list, create and revoke.
import { isRecord, malformed, readJson, send, type Endpoint } from './http.js';

/** A token as listed: never its key or hash. */
export interface TokenSummary {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  /** admin, or invoke: only `auth: key` functions (only `function`, when set). */
  readonly scope: 'admin' | 'invoke';
  readonly function: string | null;
}

/** A token just created: the only answer that carries its key. */
export interface CreatedToken extends TokenSummary {
  readonly key: string;
}

/** GET /api/v1/tokens. */
export async function listTokens(endpoint: Endpoint): Promise<TokenSummary[]> {
  const body = await readJson(await send(endpoint, '/api/v1/tokens', { method: 'GET' }));
  if (!isRecord(body) || !Array.isArray(body.tokens)) throw malformed('the token list');
  return body.tokens.map(toTokenSummary);
}

/** POST /api/v1/tokens with `{ name, scope, function }`: the new token, with its key. */
export async function createToken(endpoint: Endpoint, request: { name?: string; scope?: 'invoke'; function?: string }): Promise<CreatedToken> {
  const res = await send(endpoint, '/api/v1/tokens', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(request),
  });
  const body = await readJson(res);
  if (!isRecord(body) || typeof body.key !== 'string') throw malformed('the new token');
  return { ...toTokenSummary(body), key: body.key };
}

/** DELETE /api/v1/tokens/:id; the key stops working at once. */
export async function revokeToken(endpoint: Endpoint, id: string): Promise<void> {
  const res = await send(endpoint, `/api/v1/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' });
  await res.body?.cancel();
}

function toTokenSummary(value: unknown): TokenSummary {
  if (!isRecord(value) || typeof value.id !== 'string') throw malformed('a token');
  return {
    id: value.id,
    name: typeof value.name === 'string' ? value.name : '',
    createdAt: String(value.createdAt ?? ''),
    lastUsedAt: typeof value.lastUsedAt === 'string' ? value.lastUsedAt : null,
    scope: value.scope === 'invoke' ? 'invoke' : 'admin',
    function: typeof value.function === 'string' ? value.function : null,
  };
}
