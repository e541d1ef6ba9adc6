// `lambda login URL [--key KEY]`: check an API key against a server and save both for later commands.
import { listFunctions } from '../client.js';
import { configPath, normalizeUrl, writeConfig } from '../config.js';
import { usageError } from '../errors.js';
import { readLine, type CommandContext } from '../io.js';

export interface LoginOptions {
  readonly url: string;
  /** Read from stdin (one line) when not given, so it need not appear in shell history. */
  readonly key?: string;
}

/** Verifies the key with an authenticated request (a bad key fails with exit status 3), then saves it. */
export async function login(ctx: CommandContext, options: LoginOptions): Promise<void> {
  const url = normalizeUrl(options.url);
  const apiKey = (options.key ?? (await promptForKey(ctx))).trim();
  if (!apiKey) throw usageError('no API key given: pass --key KEY or type it on stdin');
  await listFunctions({ url, apiKey });
  const path = configPath(ctx.io.env);
  await writeConfig(path, { url, apiKey });
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify({ url, config: path }, null, 2)}\n` : `Logged in to ${url}\n`);
}

async function promptForKey(ctx: CommandContext): Promise<string> {
  if (ctx.io.stdin.isTTY) ctx.io.stderr.write('API key: ');
  return readLine(ctx.io.stdin);
}
