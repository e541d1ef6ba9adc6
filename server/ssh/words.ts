// Splits an SSH exec request into argv the way a POSIX shell splits words, without ever running a shell.
import { LambdaError } from '../errors.js';

/**
 * Characters a shell would treat as operators or expansions. Nothing here would run them, but a command that
 * holds one unquoted was written for a shell (`logs greet; rm -rf /`), so it is refused instead of guessed at.
 */
const OPERATORS = new Set([';', '&', '|', '<', '>', '(', ')', '`', '$', '\n', '\r']);
const MAX_COMMAND_LENGTH = 64 * 1024;

/**
 * Words separated by blanks; 'single quotes' keep everything, "double quotes" keep everything but `\"` and `\\`,
 * a backslash outside quotes keeps the next character. Throws LAMBDA_ERR_SSH_REFUSED for an unquoted shell
 * operator, an unterminated quote, a NUL or an over-long command.
 */
export function splitWords(command: string): string[] {
  const refuse = (detail: string) => new LambdaError('LAMBDA_ERR_SSH_REFUSED', { detail });
  if (command.length > MAX_COMMAND_LENGTH) throw refuse('the command is too long');
  if (command.includes('\0')) throw refuse('the command holds a NUL character');
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string;
    if (c === ' ' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end === -1) throw refuse('a single quote is not closed');
      word = (word ?? '') + command.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let text = '';
      let j = i + 1;
      for (; j < command.length && command[j] !== '"'; j++) {
        if (command[j] === '\\' && (command[j + 1] === '"' || command[j + 1] === '\\')) j++;
        text += command[j];
      }
      if (j >= command.length) throw refuse('a double quote is not closed');
      word = (word ?? '') + text;
      i = j;
    } else if (c === '\\') {
      if (i + 1 >= command.length) throw refuse('the command ends with a backslash');
      word = (word ?? '') + command[++i];
    } else if (OPERATORS.has(c)) {
      const shown = c === '\n' ? '\\n' : c === '\r' ? '\\r' : c;
      throw refuse(`no shell runs commands here, and "${shown}" is shell syntax; quote it if it belongs to an argument`);
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
