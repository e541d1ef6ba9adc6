// Build text shown to a pusher: every escape sequence and control character goes, the words stay.
import test from 'ava';
import { cleanLine, cleanLines } from './clean-text.js';

const clean = test.macro({
  exec(t, input: string, expected: string) {
    t.is(cleanLine(input), expected);
  },
  title: (label = '') => `cleanLine removes ${label}`,
});

test('colours (CSI)', clean, '\x1b[31mnpm\x1b[39m \x1b[1;4merror\x1b[0m', 'npm error');
test('a window title (OSC ended by BEL)', clean, 'a\x1b]0;pwned\x07b', 'ab');
test('a hyperlink (OSC ended by ST)', clean, '\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\', 'link');
test('screen clearing and cursor moves', clean, '\x1b[2J\x1b[Hhello\x1b[10A', 'hello');
test('8-bit CSI and other C1 controls', clean, 'a\x9b31mb\x85c', 'a31mbc');
test('bells, backspaces and NULs', clean, 'a\x07b\x08c\x00d', 'abcd');
test('a lone ESC and two-byte escapes', clean, 'a\x1bcb\x1b(Bc\x1b', 'abc');
test('bidirectional overrides (Trojan Source)', clean, 'access\u202e level\u2066', 'access level');
test('nothing from plain text, tabs become spaces', clean, 'npm error\tcode E404', 'npm error  code E404');

test('cleanLine cuts very long lines', (t) => {
  t.is(cleanLine('x'.repeat(5000)).length, 1001);
});

test('cleanLines splits on \\r too and drops blank lines', (t) => {
  t.deepEqual(cleanLines('one\r\ntwo\rthree\n\n  \n\x1b[0m\nfour'), ['one', 'two', 'three', 'four']);
});
