// The `lambda` program: registers every verb of cli/verbs/index.ts and maps failures to exit statuses.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { CliError, EXIT, usageError } from './errors.js';
import { processIo, type CommandContext, type Io } from './io.js';
import { escapeControls, renderError, renderJsonError } from './render.js';
import { cliVersion } from './version.js';
import { VERBS, unknownVerbMessage, unknownVerbOf } from './verbs/index.js';

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
    // Every failure leaves through here, usage errors that echo the arguments included: one escape covers them all.
    const shown = escapeControls(message);
    io.stderr.write(json ? renderJsonError(shown, code) : renderError(shown, code));
  };
  try {
    const rewritten = VERBS.reduce<readonly string[]>((args, verb) => verb.rewriteArgv?.(args) ?? args, argv);
    const verbs = [...VERBS.map((verb) => verb.name), 'help'];
    const unknown = unknownVerbOf(rewritten, verbs);
    if (unknown !== undefined) throw usageError(unknownVerbMessage(unknown, verbs, 'lambda --help'));
    await program.parseAsync(rewritten, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with exit code 0, and `lambda tokens` alone with its help: text already written.
      if (err.exitCode === 0) return EXIT.ok;
      if (err.code === 'commander.help') return EXIT.usage;
      fail(usageMessage(err.message));
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
 * Commander's usage errors on one line: `unknown command 'deplyo'; did you mean 'deploy'?` rather than its
 * `error:` prefix and a second `(Did you mean deploy?)` line.
 */
function usageMessage(message: string): string {
  const [first = '', ...rest] = message.replace(/^error: /, '').split('\n');
  const near = /^\(Did you mean (one of )?(.+)\?\)$/.exec(rest.join(' ').trim());
  if (!near) return [first, ...rest].join('\n');
  const names = (near[2] ?? '').split(', ').map((name) => `'${name}'`).join(', ');
  return `${first}; did you mean ${near[1] ?? ''}${names}?`;
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
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Usage errors are printed by run(), which knows whether --json was asked for.
      outputError: () => undefined,
    });
  const context = (command: Command): CommandContext => ({ io, json: command.optsWithGlobals<{ json?: boolean }>().json === true });
  for (const verb of VERBS) verb.register(program, context);
  // Commander lets words past a verb's last argument through unread (`lambda rollback greet v1 typo` would drop the
  // typo and roll back): every verb and sub-verb refuses them here, naming them.
  program.hook('preAction', (_program, action) => refuseExcessArguments(action));
  return program;
}

function refuseExcessArguments(command: Command): void {
  const declared = command.registeredArguments;
  if (declared.at(-1)?.variadic) return;
  const extra = command.args.slice(declared.length);
  if (extra.length === 0) return;
  const words = extra.slice(0, 5).map((word) => JSON.stringify(word.slice(0, 40)));
  const path: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) path.unshift(at.name());
  throw usageError(`too many arguments: ${words.join(' ')}${extra.length > 5 ? ' …' : ''} (usage: ${path.join(' ')} ${command.usage()})`);
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
