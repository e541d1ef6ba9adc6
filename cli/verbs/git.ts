// `lambda setup-git` and `lambda git-credential`: git pushes with the CLI's API token, which never sits in a remote URL or argv.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { loadConfig, requireToken } from '../config.js';
import { CliError } from '../errors.js';
import { type HelperEntry, credentialAnswer, HELPER_KEYS, helperCommand, helpersAfterOurs, laterHelperWarning, parseConfigListing, parseCredentialRequest, requestMatches, serverOrigin } from '../git-credential.js';
import type { CommandContext, Env, Input } from '../io.js';
import { examples, type Verb } from './verb.js';

const CREDENTIALS_STAY_LOCAL = 'it sets up git where it runs, which over SSH is the server';

export const setupGitVerb: Verb = {
  name: 'setup-git',
  summary: "let git push to the server with this CLI's API token: remotes and git's argv then hold none",
  ssh: false,
  notOverSsh: CREDENTIALS_STAY_LOCAL,
  register(program, context) {
    program
      .command('setup-git')
      .description(this.summary)
      .addHelpText('after', examples('lambda setup-git && git remote add lambda http://localhost:8080/git/greet.git'))
      .action(async (_options: unknown, command: Command) => {
        await setupGit(context(command));
      });
  },
};

export const gitCredentialVerb: Verb = {
  name: 'git-credential',
  summary: 'the credential helper git runs (set up by `lambda setup-git`): the API token, for the configured server only',
  ssh: false,
  notOverSsh: 'it hands out the API token git asks for, which only the machine it is saved on may do',
  register(program, context) {
    program
      .command('git-credential')
      .description(this.summary)
      .argument('<operation>', 'get, store or erase (as git calls it)')
      .action(async (operation: string, _options: unknown, command: Command) => {
        await gitCredential(context(command), { operation });
      });
  },
};

/** git's requests are a few short lines; anything longer is not one. */
const MAX_REQUEST = 64 * 1024;

/**
 * The helper git runs (`get`, `store` or `erase`, request on stdin). `get` prints the token only when git asks for the
 * server this CLI is configured for (LAMBDA_URL, else `lambda login`'s); for any other server it prints nothing, so
 * git goes on to its other helpers or its prompt. `store` and `erase` are ignored: the token lives in the CLI's config.
 * When git would run another helper after this one for the server, `get` gives no token (see laterHelpers).
 */
export async function gitCredential(ctx: CommandContext, options: { operation: string }): Promise<void> {
  const request = parseCredentialRequest(await readRequest(ctx.io.stdin));
  if (options.operation !== 'get') return;
  const config = await loadConfig(ctx.io.env);
  if (!requestMatches(request, config.url)) return;
  // git runs this helper where it runs (the repository), so this reads the config git read: a helper after this one
  // would be handed the token to store once the push succeeds, so no token is given at all, and git asks no one else.
  const later = await laterHelpers(ctx.io.env, serverOrigin(config.url) as string);
  if (later.length > 0) {
    ctx.io.stdout.write('quit=1\n');
    throw new CliError(`no API token given: ${laterHelperWarning(later[0] as HelperEntry, serverOrigin(config.url) as string)}`);
  }
  try {
    ctx.io.stdout.write(credentialAnswer(requireToken(config)));
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError((err as Error).message);
  }
}

/**
 * Configures git (the user's global config) to ask this CLI for the token of the configured server:
 * `credential.<server>.helper` is reset (an empty value drops helpers set before, so none of them is asked for, or
 * stores, this token) and then set to this CLI by absolute path. Remotes are then plain `<server>/git/<name>.git`.
 * Helpers read after that entry cannot be reset from here, so each one found is named in a warning.
 */
export async function setupGit(ctx: CommandContext): Promise<void> {
  const config = await loadConfig(ctx.io.env);
  const origin = serverOrigin(config.url) as string;
  const helper = helperCommand(process.execPath, launcherPath());
  const name = `credential.${origin}.helper`;
  // Exit status 5: there was nothing to unset.
  // Unsetting every entry drops the section, so the one added next is the last in the file: a generic helper
  // written before it is reset for this server rather than handed its token.
  await git(ctx.io.env, ['config', '--global', '--unset-all', name], [0, 5]);
  await git(ctx.io.env, ['config', '--global', '--add', name, '']);
  await git(ctx.io.env, ['config', '--global', '--add', name, helper]);
  // Helpers read after ours (a repository's own config, read after the global one) would be handed the token to store:
  // the helper then refuses to give it, so say so now.
  const later = await laterHelpers(ctx.io.env, origin);
  for (const entry of later) ctx.io.stderr.write(` !     ${laterHelperWarning(entry, origin)}\n`);
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify({ url: origin, helper, ...(later.length > 0 ? { helpersAfter: later.map((entry) => entry.value) } : {}) }, null, 2)}\n`);
  } else {
    ctx.io.stdout.write(`git now asks this lambda CLI for the API token of ${origin} (credential.${origin}.helper in your global git config)\n`);
    ctx.io.stdout.write(`use remotes without a token in them: git remote add lambda ${origin}/git/NAME.git\n`);
  }
}

/** Credential helpers git reads after this CLI's for `origin`, in every config git reads from here. */
async function laterHelpers(env: Env, origin: string): Promise<HelperEntry[]> {
  return helpersAfterOurs(parseConfigListing(await git(env, ['config', '--show-origin', '-z', '--get-regexp', HELPER_KEYS], [0, 1])), origin);
}

/** bin/lambda.js of this checkout, found from this file in cli/verbs/ (tsx) or dist/cli/verbs/ (built). */
function launcherPath(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const launcher = join(dir, 'bin', 'lambda.js');
    if (existsSync(launcher)) return launcher;
    if (dir === dirname(dir)) throw new CliError('cannot find bin/lambda.js above the CLI: run `lambda setup-git` from a checkout of Lambda');
  }
}

async function readRequest(stdin: Input): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    // A blank line ends the request; leaving the loop releases stdin even if git keeps it open.
    if (text.length > MAX_REQUEST || /(^|\n)\r?\n/.test(text)) break;
  }
  return text.slice(0, MAX_REQUEST);
}

/** Runs git with the CLI's environment (its HOME decides which global config is written); no token is ever an argument. */
function git(env: Env, args: string[], okStatuses: number[] = [0]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { env: env as NodeJS.ProcessEnv }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === 'number' ? error.code : undefined) : 0;
      if (status !== undefined && okStatuses.includes(status)) {
        resolve(stdout);
        return;
      }
      const reason = (error as NodeJS.ErrnoException | null)?.code === 'ENOENT' ? 'git is not installed' : stderr.trim() || String(error);
      reject(new CliError(`git ${args[0]} failed: ${reason}`));
    });
  });
}
