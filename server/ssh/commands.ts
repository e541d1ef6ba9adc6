// What an SSH exec request may run: one of the CLI's verbs, or git's receive-pack/upload-pack for one function.
import { LambdaError } from '../errors.js';
import { assertFunctionName } from '../functions/names.js';
import { splitWords } from './words.js';

/**
 * The CLI verbs SSH serves. Verbs that read or write files where they run (deploy, validate, login,
 * keys add) or manage credentials (tokens, keys) are not among them: over SSH they would run on the server.
 */
export const SSH_VERBS: readonly string[] = ['list', 'logs', 'versions', 'rollback', 'invoke', 'env', 'schedules', 'invocations', 'dlq'];

/** Options the CLI takes before its verb that SSH passes on. */
const GLOBAL_OPTIONS = new Set(['--json']);

export type SshCommand = { kind: 'cli'; argv: string[] } | { kind: 'git'; service: 'receive-pack' | 'upload-pack'; name: string };

/** Turns the exec request into what to run; throws LAMBDA_ERR_SSH_REFUSED (or LAMBDA_ERR_INVALID_NAME) otherwise. */
export function parseSshCommand(command: string): SshCommand {
  const argv = splitWords(command);
  const refuse = (detail: string) => new LambdaError('LAMBDA_ERR_SSH_REFUSED', { detail });
  const first = argv[0];
  if (first === 'git-receive-pack' || first === 'git-upload-pack') {
    if (argv.length !== 2) throw refuse(`${first} takes exactly one repository path, like '/greet.git'`);
    return { kind: 'git', service: first === 'git-receive-pack' ? 'receive-pack' : 'upload-pack', name: repoName(argv[1] as string) };
  }
  const verbAt = argv.findIndex((arg) => !GLOBAL_OPTIONS.has(arg));
  const verb = verbAt === -1 ? undefined : argv[verbAt];
  if (verb === undefined) throw refuse(`give a command: ${SSH_VERBS.join(', ')}, or git push/fetch ssh://lambda@host/NAME.git`);
  if (!SSH_VERBS.includes(verb)) {
    const shown = verb.slice(0, 40).replace(/[^\x20-\x7e]/g, '?');
    throw refuse(`"${shown}" is not a command SSH runs; it runs ${SSH_VERBS.join(', ')}, and git push/fetch`);
  }
  return { kind: 'cli', argv };
}

/** `/greet.git`, `greet.git`, `~/greet.git` or `greet`: the function name, validated (no `..`, `/` or options). */
function repoName(path: string): string {
  const name = path.replace(/^~?\//, '').replace(/\.git\/?$/, '');
  return assertFunctionName(name);
}
