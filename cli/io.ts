// The streams and environment one CLI run uses, so tests can run the CLI in-process.

export interface Output {
  write(text: string): unknown;
}

export interface Input extends AsyncIterable<string | Buffer> {
  readonly isTTY?: boolean;
  /** A terminal's: true stops it echoing and line-editing what is typed (see cli/secret.ts). */
  setRawMode?(mode: boolean): unknown;
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface Io {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly stdin: Input;
  readonly env: Env;
}

/** What every command receives: where to write, and whether to write JSON for machines. */
export interface CommandContext {
  readonly io: Io;
  readonly json: boolean;
}

/** The real process streams and environment. */
export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/** Reads up to the first newline (or the end of input) and returns it without the line ending. */
export async function readLine(stdin: Input): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const end = text.indexOf('\n');
    // Leaving the loop early releases stdin, so a terminal or pipe left open does not hold the process.
    if (end !== -1) return text.slice(0, end).replace(/\r$/, '');
  }
  return text.replace(/\r$/, '');
}
