// What the server's log shows of an SSH command line: the command with secret values masked.
import { splitWords } from './words.js';

const MASK = '••••••';
/** `NAME=value` words: env vars being set (`env set greet DB_PASSWORD=…`), or a variable put before a command. */
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;
/** Options whose value is a credential (`login --key …`, `--token`, `--password`, `--secret`, `--api-key`). */
const SECRET_OPTION = /^--?[A-Za-z0-9-]*(key|token|secret|passw|password|credential)[A-Za-z0-9-]*$/i;
const MAX_SHOWN = 200;

/**
 * The command as the log shows it: words as a shell would split them, each `NAME=value` as `NAME=••••••` and the
 * value of a credential option masked. `--data` payloads are shown: they are what the function gets, not secrets.
 * A line that does not split (unbalanced quotes, shell syntax) is masked after its verb and function name, so a
 * refused command does not leak either.
 */
export function maskCommand(command: string): string {
  let words: string[];
  try {
    words = splitWords(command.slice(0, 64 * 1024));
  } catch {
    return shorten(maskText(command));
  }
  const shown: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    const eq = word.indexOf('=');
    if (word.startsWith('-') && eq > 0 && SECRET_OPTION.test(word.slice(0, eq))) {
      shown.push(`${word.slice(0, eq)}=${MASK}`);
    } else if (SECRET_OPTION.test(word) && i + 1 < words.length) {
      shown.push(word, MASK);
      i++;
    } else {
      const assignment = ASSIGNMENT.exec(word);
      shown.push(assignment ? `${assignment[1]}=${MASK}` : quote(word));
    }
  }
  return shorten(shown.join(' '));
}

/** Verbs whose second word is a subcommand (`env set`), so the function name is the third. */
const WITH_SUBCOMMAND = new Set(['env', 'schedules', 'dlq', 'invocations', 'keys', 'tokens']);
/** A word shown as it is: no quote, escape, `=`, operator or leading `-` that could hide where a secret starts. */
const PLAIN_WORD = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * For text that does not split into words: where a value starts and ends is unknown (a quoted or escaped name,
 * `"DB_PASSWORD"=…` or `\DB_PASSWORD=…`, hides the `=` from any pattern), so only the verb, its subcommand and the
 * function name are shown, as plain words, and everything after them is masked.
 */
function maskText(command: string): string {
  const kept: string[] = [];
  let rest = command.replace(/^[ \t]+/, '');
  for (;;) {
    const limit = WITH_SUBCOMMAND.has(kept[0] ?? '') ? 3 : 2;
    const next = /^([^ \t]+)(?:[ \t]+|$)/.exec(rest);
    if (!next || kept.length >= limit || !PLAIN_WORD.test(next[1] as string)) break;
    kept.push(next[1] as string);
    rest = rest.slice(next[0].length);
  }
  return rest === '' ? kept.join(' ') : [...kept, MASK].join(' ');
}

/** A word with blanks or quotes is shown quoted, so the line still reads as the words it was. */
function quote(word: string): string {
  if (word !== '' && !/[\s'"\\]/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function shorten(text: string): string {
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}
