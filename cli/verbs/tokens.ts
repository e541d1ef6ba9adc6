// `lambda tokens list|create [--name N] [--invoke [--function F]]|revoke ID`: the server's API tokens.
import type { Command } from 'commander';
import { endpointOf } from '../config.js';
import { usageError } from '../errors.js';
import { isRecord, malformed, readJson, send, type Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { renderCreatedToken, renderTokensTable } from '../render.js';
import { examples, type Verb } from './verb.js';

export const tokensVerb: Verb = {
  name: 'tokens',
  summary: "list, create and revoke the server's API tokens",
  ssh: false,
  notOverSsh: 'it manages credentials, which SSH keys may not grant themselves',
  register(program, context) {
    const tokens = program
      .command('tokens')
      .description(this.summary)
      .addHelpText('after', examples('lambda tokens create --name ci', 'lambda tokens create --invoke --function greet', 'lambda tokens revoke 3f2c1a9b'));
    tokens
      .command('list')
      .description('list API tokens: id, name, created, last used, scope')
      .action(async (_options: unknown, command: Command) => {
        await tokensList(context(command));
      });
    tokens
      .command('create')
      .description('create an API token and print it (shown only this once)')
      .option('-n, --name <name>', 'what the token is for, e.g. ci')
      .option('--invoke', 'a token that only calls `auth: key` functions: no REST API, git or SSH')
      .option('--function <name>', 'with --invoke: only this function')
      .action(async (options: { name?: string; invoke?: boolean; function?: string }, command: Command) => {
        await tokensCreate(context(command), { name: options.name, invoke: options.invoke, function: options.function });
      });
    tokens
      .command('revoke')
      .description('revoke an API token: it stops working at once')
      .argument('<id>', 'the token id, as `lambda tokens list` shows it')
      .action(async (id: string, _options: unknown, command: Command) => {
        await tokensRevoke(context(command), { id });
      });
  },
};

/** A token as listed: never its secret or hash. */
export interface TokenSummary {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  /** admin, or invoke: only `auth: key` functions (only `function`, when set). */
  readonly scope: 'admin' | 'invoke';
  readonly function: string | null;
}

/** A token just created: the only answer that carries its secret (`key`, as the REST API names it). */
export interface CreatedToken extends TokenSummary {
  readonly key: string;
}

/** Prints every token (id, name, created, last used), never its secret. */
export async function tokensList(ctx: CommandContext): Promise<void> {
  const tokens = await listTokens(await endpointOf(ctx.io.env));
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(tokens, null, 2)}\n` : renderTokensTable(tokens));
}

/**
 * Creates a token and prints it, the only time it is shown. `invoke`: a token that only calls `auth: key`
 * functions (`function`: only that one). Bad name: LAMBDA_ERR_BAD_REQUEST, exit 2.
 */
export async function tokensCreate(ctx: CommandContext, options: { name?: string; invoke?: boolean; function?: string }): Promise<void> {
  if (options.function !== undefined && !options.invoke) throw usageError('--function needs --invoke: only invoke tokens are limited to one function');
  const request = { name: options.name, ...(options.invoke ? { scope: 'invoke' as const } : {}), ...(options.function !== undefined ? { function: options.function } : {}) };
  const token = await createToken(await endpointOf(ctx.io.env), request);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(token, null, 2)}\n` : renderCreatedToken(token));
}

/**
 * Revokes a token; it stops working at once. Unknown id: LAMBDA_ERR_TOKEN_NOT_FOUND (exit 4);
 * the last token: LAMBDA_ERR_LAST_TOKEN (exit 1), so nobody locks themselves out.
 */
export async function tokensRevoke(ctx: CommandContext, options: { id: string }): Promise<void> {
  await revokeToken(await endpointOf(ctx.io.env), options.id);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify({ id: options.id, revoked: true }, null, 2)}\n` : `Revoked token ${options.id}\n`);
}

/** GET /api/v1/tokens. */
async function listTokens(endpoint: Endpoint): Promise<TokenSummary[]> {
  const body = await readJson(await send(endpoint, '/api/v1/tokens', { method: 'GET' }));
  if (!isRecord(body) || !Array.isArray(body.tokens)) throw malformed('the token list');
  return body.tokens.map(toTokenSummary);
}

/** POST /api/v1/tokens with `{ name, scope, function }`: the new token, with its secret. */
async function createToken(endpoint: Endpoint, request: { name?: string; scope?: 'invoke'; function?: string }): Promise<CreatedToken> {
  const res = await send(endpoint, '/api/v1/tokens', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(request),
  });
  const body = await readJson(res);
  if (!isRecord(body) || typeof body.key !== 'string') throw malformed('the new token');
  return { ...toTokenSummary(body), key: body.key };
}

/** DELETE /api/v1/tokens/:id; the token stops working at once. */
async function revokeToken(endpoint: Endpoint, id: string): Promise<void> {
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
