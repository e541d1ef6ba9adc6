// `lambda tokens list|create [--name N] [--invoke [--function F]]|revoke ID`: the server's API keys.
import { createToken, listTokens, revokeToken } from '../client-tokens.js';
import { loadConfig, requireApiKey } from '../config.js';
import { usageError } from '../errors.js';
import type { Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { renderCreatedToken, renderTokensTable } from '../render.js';

/** Prints every token (id, name, created, last used), never a key. */
export async function tokensList(ctx: CommandContext): Promise<void> {
  const tokens = await listTokens(await endpointOf(ctx));
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(tokens, null, 2)}\n` : renderTokensTable(tokens));
}

/**
 * Creates a token and prints its key, the only time it is shown. `invoke`: a token that only calls `auth: key`
 * functions (`function`: only that one). Bad name: LAMBDA_ERR_BAD_REQUEST, exit 2.
 */
export async function tokensCreate(ctx: CommandContext, options: { name?: string; invoke?: boolean; function?: string }): Promise<void> {
  if (options.function !== undefined && !options.invoke) throw usageError('--function needs --invoke: only invoke tokens are limited to one function');
  const request = { name: options.name, ...(options.invoke ? { scope: 'invoke' as const } : {}), ...(options.function !== undefined ? { function: options.function } : {}) };
  const token = await createToken(await endpointOf(ctx), request);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(token, null, 2)}\n` : renderCreatedToken(token));
}

/**
 * Revokes a token; its key stops working at once. Unknown id: LAMBDA_ERR_TOKEN_NOT_FOUND (exit 4);
 * the last token: LAMBDA_ERR_LAST_TOKEN (exit 1), so nobody locks themselves out.
 */
export async function tokensRevoke(ctx: CommandContext, options: { id: string }): Promise<void> {
  await revokeToken(await endpointOf(ctx), options.id);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify({ id: options.id, revoked: true }, null, 2)}\n` : `Revoked token ${options.id}\n`);
}

async function endpointOf(ctx: CommandContext): Promise<Endpoint> {
  const config = await loadConfig(ctx.io.env);
  return { url: config.url, apiKey: requireApiKey(config) };
}
