// The `lambda` program: wires each verb's arguments to its command in cli/commands/ and maps failures to exit statuses.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { deploy } from './commands/deploy.js';
import { invoke } from './commands/invoke.js';
import { list } from './commands/list.js';
import { login } from './commands/login.js';
import { CliError, EXIT } from './errors.js';
import { processIo, type CommandContext, type Io } from './io.js';
import { renderError } from './render.js';

/**
 * Runs the CLI with `argv` (the arguments after the program name, e.g. `['list', '--json']`)
 * and resolves to the exit status; it never calls `process.exit`, so tests can run it in-process.
 */
export async function run(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof CliError) {
      io.stderr.write(renderError(err.message, err.code));
      return err.exitStatus;
    }
    io.stderr.write(renderError(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
    return EXIT.generic;
  }
}

function buildProgram(io: Io): Command {
  const program = new Command('lambda')
    .description('Deploy and run functions on a Lambda server')
    .option('--json', 'print JSON for machines instead of text for people')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(renderError(text.trim().replace(/^error: /, ''))),
    });

  const context = (command: Command): CommandContext => ({ io, json: command.optsWithGlobals<{ json?: boolean }>().json === true });

  program
    .command('deploy')
    .description('package a directory and deploy it as a function')
    .argument('[dir]', 'the function directory', '.')
    .option('-n, --name <name>', "the function's name (default: the directory's name)")
    .action(async (dir: string, options: { name?: string }, command: Command) => {
      await deploy(context(command), { dir, name: options.name });
    });

  program
    .command('invoke')
    .description('call a function with a JSON event and print its result')
    .argument('<name>', 'the function')
    .option('-d, --data <json>', 'the event, as JSON', '{}')
    .option('--async', 'queue the call and print its invocation id instead of waiting')
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
    .command('login')
    .description('save the server URL and API key for later commands')
    .argument('<url>', 'the server, e.g. http://localhost:8080')
    .option('--key <key>', 'the API key (read from stdin when not given)')
    .action(async (url: string, options: { key?: string }, command: Command) => {
      await login(context(command), { url, key: options.key });
    });

  return program;
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
