// `lambda login URL [--key KEY]`: check an API key against a server and save both for later commands.
import { listFunctions } from '../client.js';
import { configPath, normalizeUrl, writeConfig } from '../config.js';
import { usageError } from '../errors.js';
import type { CommandContext } from '../io.js';
import { readSecret } from '../secret.js';

export interface LoginOptions {
  readonly url: string;
  /** Else LAMBDA_API_KEY, else read from stdin (one line), so it need appear in neither argv nor shell history. */
  readonly key?: string;
}

/**
 * Verifies the key with an authenticated request, then saves URL and key. A key in LAMBDA_API_KEY
 * is taken without asking; one typed at a terminal is not echoed. Exit statuses: 2 no key or a bad
 * URL, 3 the server refused the key (LAMBDA_ERR_UNAUTHORIZED), 1 the server cannot be reached.
 */
export async function login(ctx: CommandContext, options: LoginOptions): Promise<void> {
  const url = normalizeUrl(options.url);
  const apiKey = (options.key ?? (ctx.io.env.LAMBDA_API_KEY || (await readSecret(ctx.io.stdin, ctx.io.stderr, 'API key: ')))).trim();
  if (!apiKey) throw usageError('no API key given: set LAMBDA_API_KEY, type it on stdin or pass --key KEY');
  await listFunctions({ url, apiKey });
  const path = configPath(ctx.io.env);
  await writeConfig(path, { url, apiKey });
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify({ url, config: path }, null, 2)}\n` : `Logged in to ${url}\n`);
}
