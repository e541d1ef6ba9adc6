// Unit tests of secret.ts: a key typed at a (fake) terminal is read with echo off and the terminal restored; piped input is a line.
import { Readable } from 'node:stream';
import test from 'ava';
import { CliError } from './errors.js';
import type { Input } from './io.js';
import { readSecret } from './secret.js';

/** A stand-in for a TTY read stream: records raw-mode changes, interleaved with what is shown. */
function fakeTty(chunks: (string | Buffer)[]): { stdin: Input; events: string[]; shown: () => string; echo: { write(text: string): boolean } } {
  const events: string[] = [];
  let shown = '';
  const stream = Readable.from(chunks, { objectMode: true });
  const stdin: Input = Object.assign(stream, {
    isTTY: true,
    setRawMode(mode: boolean) {
      events.push(`raw:${mode}`);
      return stdin;
    },
  });
  const echo = {
    write(text: string) {
      shown += text;
      events.push(`show:${JSON.stringify(text)}`);
      return true;
    },
  };
  return { stdin, events, shown: () => shown, echo };
}

test('at a terminal: raw mode on while reading, off after; only the prompt and a newline are shown', async (t) => {
  const tty = fakeTty(['lambda_sec', 'ret\r', 'after enter is not read']);
  t.is(await readSecret(tty.stdin, tty.echo, 'API key: '), 'lambda_secret');
  t.deepEqual(tty.events, ['show:"API key: "', 'raw:true', 'raw:false', 'show:"\\n"']);
  t.false(tty.shown().includes('secret'));
});

const typed = test.macro({
  async exec(t, chunks: (string | Buffer)[], expected: string) {
    const tty = fakeTty(chunks);
    t.is(await readSecret(tty.stdin, tty.echo, '> '), expected);
    t.deepEqual(tty.events.filter((event) => event.startsWith('raw:')), ['raw:true', 'raw:false']);
  },
  title: (given = '') => `at a terminal: ${given}`,
});

test('Enter as \\n', typed, ['abc\n'], 'abc');
test('Backspace (DEL) erases one character', typed, ['abx\u007fc\r'], 'abc');
test('Backspace (^H) erases one character', typed, ['abx\bc\r'], 'abc');
test('Backspace on nothing is harmless', typed, ['\u007f\u007fa\r'], 'a');
test('Backspace erases a whole multi-byte character', typed, ['aé\u007f\r'], 'a');
test('Ctrl-U clears the line', typed, ['wrong\u0015right\r'], 'right');
test('Ctrl-D ends the input', typed, ['abc\u0004'], 'abc');
test('the end of input ends it', typed, ['abc'], 'abc');
test('other control characters are dropped', typed, ['a\u001b\tb\r'], 'ab');
test('a character split across two reads', typed, [Buffer.from([0x61, 0xc3]), Buffer.from([0xa9, 0x0d])], 'aé');

test('at a terminal: Ctrl-C cancels with exit status 1, and the terminal is restored', async (t) => {
  const tty = fakeTty(['secr\u0003et\r']);
  const error = await t.throwsAsync(readSecret(tty.stdin, tty.echo, 'API key: '), { instanceOf: CliError });
  t.is(error?.exitStatus, 1);
  t.is(error?.message, 'cancelled');
  t.deepEqual(tty.events, ['show:"API key: "', 'raw:true', 'raw:false', 'show:"\\n"']);
});

test('piped input: one line, no prompt, no raw mode', async (t) => {
  let shown = '';
  const stdin = Readable.from(['key-from-pipe\r\nmore\n']);
  t.is(await readSecret(stdin, { write: (text: string) => (shown += text) }, 'API key: '), 'key-from-pipe');
  t.is(shown, '');
});

test('a TTY that cannot switch raw mode is read as a line, so the key is never lost', async (t) => {
  const stdin = Object.assign(Readable.from(['k\n']), { isTTY: true });
  t.is(await readSecret(stdin, { write: () => true }, 'API key: '), 'k');
});
