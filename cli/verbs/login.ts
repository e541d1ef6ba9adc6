// `lambda login URL [--key TOKEN]`: check an API token against a server and save both for later commands.
import type { Command } from 'commander';
import { KEY_SOURCES, configPath, normalizeUrl, writeConfig } from '../config.js';
import { usageError } from '../errors.js';
import type { CommandContext } from '../io.js';
import { readSecret } from '../secret.js';
import { listFunctions } from './list.js';
import { examples, type Verb } from './verb.js';

export const loginVerb: Verb = {
  name: 'login',
  summary: 'save the server URL and API token for later commands',
  ssh: false,
  notOverSsh: 'it saves a login where it runs, and SSH commands already run with one of their own',
  register(program, context) {
    program
      .command('login')
      .description(this.summary)
      .argument('<url>', 'the server, e.g. http://localhost:8080')
      .option('--key <token>', 'the API token (default: LAMBDA_API_KEY, else asked for without echo)')
      .addHelpText('after', examples('lambda login http://localhost:8080', 'LAMBDA_API_KEY=... lambda login https://lambda.example.com'))
      .action(async (url: string, options: { key?: string }, command: Command) => {
        await login(context(command), { url, token: options.key });
      });
  },
};

export interface LoginOptions {
  readonly url: string;
  /** Else LAMBDA_API_KEY, else read from stdin (one line), so it need appear in neither argv nor shell history. */
  readonly token?: string;
}

/**
 * Verifies the token with an authenticated request, then saves URL and token. A token in LAMBDA_API_KEY
 * is taken without asking; one typed at a terminal is not echoed. Exit statuses: 2 no token or a bad
 * URL, 3 the server refused the token (LAMBDA_ERR_UNAUTHORIZED), 1 the server cannot be reached.
 */
export async function login(ctx: CommandContext, options: LoginOptions): Promise<void> {
  const url = normalizeUrl(options.url);
  const fromEnv = options.token === undefined && Boolean(ctx.io.env.LAMBDA_API_KEY);
  const token = (options.token ?? (ctx.io.env.LAMBDA_API_KEY || (await readSecret(ctx.io.stdin, ctx.io.stderr, 'API key: ')))).trim();
  if (!token) throw usageError('no API token given: set LAMBDA_API_KEY, type it on stdin or pass --key TOKEN');
  const refused = fromEnv
    ? `the key came from LAMBDA_API_KEY in this environment (lambda login takes it before asking); unset it or give the right one; ${KEY_SOURCES}`
    : KEY_SOURCES;
  await listFunctions({ url, token, refused });
  const path = configPath(ctx.io.env);
  await writeConfig(path, { url, apiKey: token });
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify({ url, config: path }, null, 2)}\n` : `Logged in to ${url}\n`);
}
