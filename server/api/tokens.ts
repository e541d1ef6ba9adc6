// REST adapters for API tokens: GET /api/v1/tokens, POST /api/v1/tokens (admin or invoke-only), DELETE /api/v1/tokens/:id.
import { LambdaError } from '../errors.js';
import { createToken, listTokens, revokeToken } from '../access/tokens.js';
import { sendJson } from '../http/errors.js';
import { safeDecode } from '../http/routes.js';
import type { ApiRoute } from './types.js';
import { jsonObject } from './json-body.js';

/** `{"name": "..."}` fits in far less; anything bigger is not a token request. */
const MAX_BODY_BYTES = 16 * 1024;

export const tokensRoutes: ApiRoute[] = [
  {
    method: 'GET',
    pattern: /^\/api\/v1\/tokens\/?$/,
    async handle({ res, context }) {
      sendJson(res, 200, { tokens: listTokens(context.deps) });
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/v1\/tokens\/?$/,
    async handle({ req, res, context }) {
      const body = await context.readBody(req, MAX_BODY_BYTES);
      sendJson(res, 201, createToken(context.deps, tokenRequest(body)));
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/api\/v1\/tokens\/(?<id>[^/]+)$/,
    async handle({ res, params, context }) {
      revokeToken(context.deps, { id: safeDecode(params.id ?? '') });
      res.writeHead(204).end();
    },
  },
];

/** The optional name, scope and function from a JSON body `{"name", "scope", "function"}`; an empty body means none. */
function tokenRequest(body: Buffer): { name?: string; scope?: string; function?: string } {
  const text = body.toString('utf8').trim();
  if (text === '') return {};
  const fields = jsonObject(text, '{"name": "ci"} or {"name": "callers", "scope": "invoke", "function": "hello"}');
  for (const field of ['name', 'scope', 'function'] as const) {
    if (fields[field] !== undefined && typeof fields[field] !== 'string') {
      throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `"${field}" must be a string` });
    }
  }
  return fields as { name?: string; scope?: string; function?: string };
}
