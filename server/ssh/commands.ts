// What an SSH exec request may run: one of the CLI's verbs that SSH allows, its help, or git's receive-pack/upload-pack for one function.
import { LambdaError } from '../errors.js';
import { assertFunctionName } from '../functions/names.js';
// The one thing the server reads of the CLI besides its entry point: each verb declares beside its code whether
// SSH runs it (and why not), so the permission is written once.
import { SSH_TABLE, unknownVerbMessage } from '../../cli/verbs/index.js';
import { splitWords } from './words.js';

/**
 * The CLI verbs SSH serves, as each verb's file declares. Verbs that read or write files where they run (deploy,
 * validate, login, setup-git, keys add) or manage credentials (tokens, keys, git-credential) are not among them:
 * over SSH they would run on the server, or hand a key holder more than its key.
 */
export const SSH_VERBS: readonly string[] = SSH_TABLE.filter((verb) => verb.notOverSsh === undefined).map((verb) => verb.name);

/** Options the CLI takes before its verb that SSH passes on. */
const GLOBAL_OPTIONS = new Set(['--json']);
const HELP = new Set(['help', '--help', '-h']);

export type SshCommand =
  | { kind: 'cli'; argv: string[] }
  | { kind: 'git'; service: 'receive-pack' | 'upload-pack'; name: string }
  | { kind: 'help'; text: string };

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
  if (HELP.has(verb)) {
    const about = argv[verbAt + 1];
    if (about === undefined) return { kind: 'help', text: sshHelp() };
    // `help logs`: that verb's own --help, if SSH runs it.
    checkVerb(about, refuse);
    return { kind: 'cli', argv: [about, '--help'] };
  }
  checkVerb(verb, refuse);
  return { kind: 'cli', argv };
}

function checkVerb(verb: string, refuse: (detail: string) => LambdaError): void {
  if (SSH_VERBS.includes(verb)) return;
  const shown = verb.slice(0, 40).replace(/[^\x20-\x7e]/g, '?');
  const runs = `${SSH_VERBS.join(', ')}, and git push/fetch`;
  const known = SSH_TABLE.find((entry) => entry.name === verb);
  // A verb the CLI has but SSH does not run says why; any other word gets the near verb SSH runs, as the CLI would say.
  if (known) throw refuse(`"${shown}" is not a command SSH runs${known.notOverSsh ? ` (${known.notOverSsh})` : ''}; it runs ${runs}`);
  if (verb.startsWith('-')) throw refuse(`"${shown}" is not a command SSH runs (of the CLI's options only --json comes before the command); it runs ${runs}`);
  const unknown = unknownVerbMessage(verb, SSH_VERBS, 'ssh lambda@HOST help');
  throw refuse(`${unknown}${unknown.endsWith('?') ? ' ' : '; '}SSH runs ${runs}`);
}

/** What `ssh lambda@HOST help` prints: the verbs SSH runs with what each does, and git. */
export function sshHelp(): string {
  const allowed = SSH_TABLE.filter((verb) => verb.notOverSsh === undefined);
  const width = Math.max(...allowed.map((verb) => verb.name.length)) + 2;
  return [
    'Commands SSH runs here (ssh -p PORT lambda@HOST COMMAND ...), as the lambda CLI runs them; --json works too:',
    '',
    ...allowed.map((verb) => `  ${verb.name.padEnd(width)}${verb.summary}`),
    '',
    'and git push/fetch: git remote add lambda ssh://lambda@HOST:PORT/NAME.git',
    'One command\'s options: ssh -p PORT lambda@HOST help COMMAND',
    '',
  ].join('\n');
}

/** `/greet.git`, `greet.git`, `~/greet.git` or `greet`: the function name, validated (no `..`, `/` or options). */
function repoName(path: string): string {
  const name = path.replace(/^~?\//, '').replace(/\.git\/?$/, '');
  return assertFunctionName(name);
}
