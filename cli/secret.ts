// Reads a secret typed at a terminal without echoing it; piped input is read as a plain line.
import { CliError } from './errors.js';
import { readLine, type Input, type Output } from './io.js';

const ENTER = new Set(['\r', '\n', '\u0004']);
const ERASE = new Set(['\u007f', '\b']);
const INTERRUPT = '\u0003';
const KILL_LINE = '\u0015';

/**
 * Shows `prompt` on `echo` and reads one line from `stdin`. On a terminal, raw mode is on while
 * reading, so the characters are not shown, and Backspace, Ctrl-U, Enter, Ctrl-D and Ctrl-C are
 * handled here; the terminal is restored before this returns or throws. Ctrl-C throws a CliError
 * (exit status 1, no code).
 */
export async function readSecret(stdin: Input, echo: Output, prompt: string): Promise<string> {
  if (!stdin.isTTY || !stdin.setRawMode) return readLine(stdin);
  echo.write(prompt);
  stdin.setRawMode(true);
  const chunks = stdin[Symbol.asyncIterator]();
  try {
    return await collect(chunks);
  } finally {
    // Raw mode is turned off before the stream is released: a closed handle could no longer restore it.
    stdin.setRawMode(false);
    echo.write('\n');
    await chunks.return?.();
  }
}

async function collect(chunks: AsyncIterator<string | Buffer>): Promise<string> {
  // A multi-byte character can arrive split across two reads.
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const next = await chunks.next();
    if (next.done) return text;
    const value: string | Buffer = next.value;
    for (const char of typeof value === 'string' ? value : decoder.decode(value, { stream: true })) {
      if (ENTER.has(char)) return text;
      if (char === INTERRUPT) throw new CliError('cancelled');
      if (ERASE.has(char)) text = Array.from(text).slice(0, -1).join('');
      else if (char === KILL_LINE) text = '';
      else if (char >= ' ') text += char;
    }
  }
}
