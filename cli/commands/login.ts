// `lambda login URL [--key KEY]`: check an API key against a server and save both for later commands.
import { listFunctions } from '../client.js';
import { configPath, normalizeUrl, writeConfig } from '../config.js';
import { usageError } from '../errors.js';
import type { CommandContext } from '../io.js';
import { readSecret } from '../secret.js';

export interface LoginOptions {
  readonly url: string;
  /** Read from stdin (one line) when not given, so it need not appear in shell history. */
  readonly key?: string;
}

/**
 * Verifies the key with an authenticated request, then saves URL and key. A key typed at a
 * terminal is not echoed. Exit statuses: 2 no key or a bad URL, 3 the server refused the key
 * (LAMBDA_ERR_UNAUTHORIZED), 1 the server cannot be reached.
 */
export async function login(ctx: CommandContext, options: LoginOptions): Promise<void> {
  const url = normalizeUrl(options.url);
  const apiKey = (options.key ?? (await readSecret(ctx.io.stdin, ctx.io.stderr, 'API key: '))).trim();
  if (!apiKey) throw usageError('no API key given: pass --key KEY or type it on stdin');
  await listFunctions({ url, apiKey });
  const path = configPath(ctx.io.env);
  await writeConfig(path, { url, apiKey });
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify({ url, config: path }, null, 2)}\n` : `Logged in to ${url}\n`);
}
