// What every verb file declares: its name, what it does, whether SSH may run it, and how commander reads its arguments.
import type { Command } from 'commander';
import type { CommandContext } from '../io.js';

/**
 * One top-level verb of `lambda`. `cli/main.ts` registers every verb of `cli/verbs/index.ts`, and the SSH server
 * takes from the same table which verbs it runs, so a verb's permission is written once, beside its behaviour.
 */
export type Verb = {
  readonly name: string;
  /** One line, shown by `lambda --help` and by `ssh lambda@HOST help`. */
  readonly summary: string;
  /** Adds the verb (its arguments, options, help text and action) to the program. */
  register(program: Command, context: (command: Command) => CommandContext): void;
  /** Rewrites the whole argv before commander reads it, where commander would take a verb's option for the program's. */
  rewriteArgv?(argv: readonly string[]): string[];
} & (
  | { readonly ssh: true }
  | {
      readonly ssh: false;
      /** Why SSH refuses it, said to whoever tries. */
      readonly notOverSsh: string;
    }
);

/** Examples under a verb's help, one `lambda …` line each. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}

/** `1 version`, `2 versions`: every count the CLI prints goes through here. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
