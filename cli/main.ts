// The `lambda` program: wires each verb's arguments to its command in cli/commands/ and maps failures to exit statuses.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { deploy } from './commands/deploy.js';
import { invoke } from './commands/invoke.js';
import { list } from './commands/list.js';
import { login } from './commands/login.js';
import { gitCredential, setupGit } from './commands/git.js';
import { logs } from './commands/logs.js';
import { deleteCommand, envList, envSet, envUnset, releases, rollback, versions } from './commands/lifecycle.js';
import { validate } from './commands/validate.js';
import { tokensCreate, tokensList, tokensRevoke } from './commands/tokens.js';
import { keysAdd, keysList, keysRemove } from './commands/keys.js';
import { schedule, schedules, unschedule } from './commands/schedules.js';
import { dlq, dlqReplay, invocations } from './commands/invocations.js';
import { CliError, EXIT, usageError } from './errors.js';
import { processIo, type CommandContext, type Io } from './io.js';
import { renderError, renderJsonError } from './render.js';
import { cliVersion } from './version.js';

/**
 * Runs the CLI with `argv` (the arguments after the program name, e.g. `['list', '--json']`)
 * and resolves to the exit status (see EXIT in errors.ts); it never calls `process.exit`, so
 * tests can run it in-process. Failures go to stderr as ` !     message (CODE)`, or as one
 * JSON line `{"error":{"code","message"}}` with --json.
 */
export async function run(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const program = buildProgram(io);
  const fail = (message: string, code?: string): void => {
    const json = program.opts<{ json?: boolean }>().json === true || jsonRequested(argv);
    io.stderr.write(json ? renderJsonError(message, code) : renderError(message, code));
  };
  try {
    await program.parseAsync(logsVersion(argv), { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with exit code 0, and `lambda tokens` alone with its help: text already written.
      if (err.exitCode === 0) return EXIT.ok;
      if (err.code === 'commander.help') return EXIT.usage;
      fail(err.message.replace(/^error: /, ''));
      return EXIT.usage;
    }
    if (err instanceof CliError) {
      fail(err.message, err.code);
      return err.exitStatus;
    }
    fail(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return EXIT.generic;
  }
}

/**
 * `lambda logs N --version vN` filters by version, but commander reads the program's own `--version` anywhere: after
 * the `logs` verb it is renamed to the option that verb really reads.
 */
function logsVersion(argv: readonly string[]): string[] {
  const verb = argv.findIndex((arg) => !arg.startsWith('-'));
  const end = argv.indexOf('--');
  if (verb === -1 || argv[verb] !== 'logs') return [...argv];
  return argv.map((arg, index) => {
    if (index <= verb || (end !== -1 && index > end)) return arg;
    if (arg === '--version') return '--logs-version';
    return arg.startsWith('--version=') ? `--logs-version=${arg.slice('--version='.length)}` : arg;
  });
}

/** For failures before commander has parsed the options: --json anywhere before `--`. */
function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

function buildProgram(io: Io): Command {
  const program = new Command('lambda')
    .description('Deploy and run functions on a Lambda server')
    .version(cliVersion(), '-V, --version', 'print the version of this CLI')
    .option('--json', 'print JSON for machines instead of text for people')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Usage errors are printed by run(), which knows whether --json was asked for.
      outputError: () => undefined,
    });

  const context = (command: Command): CommandContext => ({ io, json: command.optsWithGlobals<{ json?: boolean }>().json === true });

  program
    .command('deploy')
    .description('package a directory and deploy it as a function')
    .argument('[dir]', 'the function directory', '.')
    .option('-n, --name <name>', "the function's name (default: lambda.yaml's name:, else the directory's name)")
    .action(async (dir: string, options: { name?: string }, command: Command) => {
      await deploy(context(command), { dir, name: options.name });
    });

  program
    .command('invoke')
    .description('call a function with a JSON event and print its result')
    .argument('<name>', 'the function')
    .option('-d, --data <json>', 'the event, as JSON', '{}')
    .option('--async', 'queue the call and print its invocation id instead of waiting for the result')
    .action(async (name: string, options: { data: string; async?: boolean }, command: Command) => {
      await invoke(context(command), { name, data: options.data, async: options.async === true });
    });

  program
    .command('list')
    .description('list functions and their live versions')
    .action(async (_options: unknown, command: Command) => {
      await list(context(command));
    });

  program
    .command('logs')
    .description("print a function's output (START/END/REPORT per invocation), or its last deploy's with --build")
    .argument('<name>', 'the function')
    .option('--since <when>', 'only lines since a duration ago (15m, 1h, 2d) or a time (2026-11-25T17:00:00Z)')
    .option('--version <version>', "only this version's lines, e.g. v3 (with --build: that version's deploy)")
    .addOption(new Option('--logs-version <version>').hideHelp())
    .option('--build', "the last deploy's output instead")
    .option('-f, --follow', 'keep printing new lines until interrupted')
    .option('-n, --lines <count>', 'how many of the last lines (0: all; default 100, all with --since or --build)')
    .action(async (name: string, options: { since?: string; logsVersion?: string; build?: boolean; follow?: boolean; lines?: string }, command: Command) => {
      await logs(context(command), { name, ...options, version: options.logsVersion });
    });
  program
    .command('login')
    .description('save the server URL and API key for later commands')
    .argument('<url>', 'the server, e.g. http://localhost:8080')
    .option('--key <key>', 'the API key (default: LAMBDA_API_KEY, else asked for without echo)')
    .action(async (url: string, options: { key?: string }, command: Command) => {
      await login(context(command), { url, key: options.key });
    });
  program
    .command('setup-git')
    .description("let git push to the server with this CLI's key: remotes and git's argv then hold no key")
    .action(async (_options: unknown, command: Command) => {
      await setupGit(context(command));
    });
  program
    .command('git-credential')
    .description('the credential helper git runs (set up by `lambda setup-git`): the key, for the configured server only')
    .argument('<operation>', 'get, store or erase (as git calls it)')
    .action(async (operation: string, _options: unknown, command: Command) => {
      await gitCredential(context(command), { operation });
    });

  const tokens = program.command('tokens').description("list, create and revoke the server's API keys");
  tokens
    .command('list')
    .description('list API tokens: id, name, created, last used')
    .action(async (_options: unknown, command: Command) => {
      await tokensList(context(command));
    });
  tokens
    .command('create')
    .description('create an API token and print its key (shown only this once)')
    .option('-n, --name <name>', 'what the token is for, e.g. ci')
    .option('--invoke', 'a token that only calls `auth: key` functions: no REST API, git or SSH')
    .option('--function <name>', 'with --invoke: only this function')
    .action(async (options: { name?: string; invoke?: boolean; function?: string }, command: Command) => {
      await tokensCreate(context(command), { name: options.name, invoke: options.invoke, function: options.function });
    });
  tokens
    .command('revoke')
    .description('revoke an API token: its key stops working at once')
    .argument('<id>', 'the token id, as `lambda tokens list` shows it')
    .action(async (id: string, _options: unknown, command: Command) => {
      await tokensRevoke(context(command), { id });
    });

  // The lifecycle verbs: versions, rollback, releases, delete, env and validate.
  program
    .command('versions')
    .description("list a function's versions: number, SHA, created, whether the image is kept, author, message; * marks the live one")
    .argument('<name>', 'the function')
    .action(async (name: string, _options: unknown, command: Command) => {
      await versions(context(command), { name });
    });
  program
    .command('rollback')
    .description('make an earlier version live again without a rebuild (a pruned one is rebuilt from its commit)')
    .argument('<name>', 'the function')
    .argument('[version]', 'v3 or a commit SHA prefix (default: the version before the live one)')
    .action(async (name: string, version: string | undefined, _options: unknown, command: Command) => {
      await rollback(context(command), { name, version });
    });
  program
    .command('releases')
    .description('list who deployed, rolled back or changed the env of a function, and when')
    .argument('<name>', 'the function')
    .action(async (name: string, _options: unknown, command: Command) => {
      await releases(context(command), { name });
    });
  program
    .command('delete')
    .description('delete a function: its instances, versions, images, env, logs and repository')
    .argument('<name>', 'the function')
    .option('-y, --yes', 'do not ask for the name to be typed')
    .action(async (name: string, options: { yes?: boolean }, command: Command) => {
      await deleteCommand(context(command), { name, yes: options.yes === true });
    });
  program
    .command('validate')
    .description("check a directory's lambda.yaml with the server's own rules (key and line in each error)")
    .argument('[dir]', 'the function directory', '.')
    .action(async (dir: string, _options: unknown, command: Command) => {
      await validate(context(command), { dir });
    });
  const env = program
    .command('env')
    .description("show a function's env vars (values set with `env set` are masked unless --reveal)")
    .argument('<name>', 'the function')
    .option('--reveal', 'show the values')
    .action(async (name: string, options: { reveal?: boolean }, command: Command) => {
      await envList(context(command), { name, reveal: options.reveal === true });
    });
  env
    .command('set')
    .description('set env vars, stored on the server (never in git); the live version serves with them at once, no rebuild')
    .argument('<name>', 'the function')
    .argument('<pairs...>', 'KEY=VALUE ...')
    .action(async (name: string, pairs: string[], _options: unknown, command: Command) => {
      await envSet(context(command), { name, pairs });
    });
  env
    .command('unset')
    .description('remove env vars; the live version serves without them at once')
    .argument('<name>', 'the function')
    .argument('<keys...>', 'KEY ...')
    .action(async (name: string, keys: string[], _options: unknown, command: Command) => {
      await envUnset(context(command), { name, keys });
    });
  const keys = program.command('keys').description('add, list and remove the SSH public keys that may log in as `lambda`');
  keys
    .command('add')
    .description('allow an SSH public key (e.g. ~/.ssh/id_ed25519.pub) to run commands and git push over SSH')
    .argument('<file>', 'the public key file (.pub)')
    .option('-n, --name <name>', "what the key is for (default: the key's comment)")
    .action(async (file: string, options: { name?: string }, command: Command) => {
      await keysAdd(context(command), { file, name: options.name });
    });
  keys
    .command('list')
    .description('list SSH keys: id, name, type, fingerprint, added, last used')
    .action(async (_options: unknown, command: Command) => {
      await keysList(context(command));
    });
  keys
    .command('remove')
    .description('remove an SSH key: it stops logging in at once')
    .argument('<id>', 'the key id or its SHA256: fingerprint, as `lambda keys list` shows them')
    .action(async (id: string, _options: unknown, command: Command) => {
      await keysRemove(context(command), { id });
    });

  addJobVerbs(program, context);
  return program;
}

/** The verbs of schedules and the async queue. */
function addJobVerbs(program: Command, context: (command: Command) => CommandContext): void {
  program
    .command('schedule')
    .description('run a function on a cron schedule (5 fields, or 6 with seconds first; UTC); kept across deploys')
    .argument('<name>', 'the function')
    .requiredOption('--cron <expr>', 'the cron expression, e.g. "0 * * * *" or "*/10 * * * * *"')
    .option('--payload <json>', 'the event to send (default: an EventBridge-style scheduled event)')
    .option('--overlap <mode>', 'skip: never two firings of this schedule at once (default); allow')
    .action(async (name: string, options: { cron: string; payload?: string; overlap?: string }, command: Command) => {
      await schedule(context(command), { name, ...options });
    });
  program
    .command('schedules')
    .description("list a function's schedules, from lambda.yaml and from `lambda schedule`")
    .argument('<name>', 'the function')
    .action(async (name: string, _options: unknown, command: Command) => {
      await schedules(context(command), { name });
    });
  program
    .command('unschedule')
    .description('remove a schedule added with `lambda schedule`')
    .argument('<name>', 'the function')
    .argument('<id>', 'the schedule id, as `lambda schedules` shows it')
    .action(async (name: string, id: string, _options: unknown, command: Command) => {
      await unschedule(context(command), { name, id });
    });
  program
    .command('invocations')
    .description("list a function's async calls (newest first) and its queue")
    .argument('<name>', 'the function')
    .option('--status <status>', 'only queued, running, succeeded, failed or replayed calls')
    .action(async (name: string, options: { status?: string }, command: Command) => {
      await invocations(context(command), { name, status: options.status });
    });
  program
    .command('dlq')
    .description('list the dead letters of a function (`dlq N`), or queue one again (`dlq replay N ID`)')
    .argument('<name>', 'the function, or "replay"')
    .argument('[args...]', 'with replay: the function and the invocation id')
    .action(async (first: string, rest: string[], _options: unknown, command: Command) => {
      if (first === 'replay' && rest.length > 0) {
        if (rest.length !== 2) throw usageError('usage: lambda dlq replay NAME ID');
        await dlqReplay(context(command), { name: rest[0] as string, id: rest[1] as string });
      } else if (rest.length > 0) {
        throw usageError('usage: lambda dlq NAME, or lambda dlq replay NAME ID');
      } else {
        await dlq(context(command), { name: first });
      }
    });
}

/** True when this file is the program Node was started with, not a module imported by a test or bin/lambda.js. */
function isEntryPoint(): boolean {
  const started = process.argv[1];
  if (!started) return false;
  try {
    return realpathSync(started) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) process.exitCode = await run(process.argv.slice(2));
