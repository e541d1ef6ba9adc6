// Unit tests of the client-side function-name check and of the HTTP-status-to-exit-status rule.
import test from 'ava';
import { CliError, EXIT, exitStatusForHttp } from './errors.js';
import { assertFunctionName } from './names.js';

const valid = ['a', 'greet', 'a1', 'a-b', 'report-builder-2', `a${'b'.repeat(62)}`];
const invalid = ['', 'A', 'Greet', '1a', '-a', 'a-', 'a_b', 'a.b', '..', '%2e%2e', '/etc', 'a/b', 'é', ' a', 'a\n', `a${'b'.repeat(63)}`];

test('DNS labels are accepted as they are', (t) => {
  for (const name of valid) t.is(assertFunctionName(name), name);
});

test('anything else is a usage error with the server code', (t) => {
  for (const name of invalid) {
    const error = t.throws(() => assertFunctionName(name), { instanceOf: CliError }, JSON.stringify(name));
    t.is(error?.exitStatus, EXIT.usage);
    t.is(error?.code, 'LAMBDA_ERR_INVALID_NAME');
  }
});

test('the name in the message is clipped and masked to one printable line', (t) => {
  const long = t.throws(() => assertFunctionName('X'.repeat(500)), { instanceOf: CliError });
  t.true(long?.message.startsWith(`invalid function name "${'X'.repeat(80)}…"`));
  const binary = t.throws(() => assertFunctionName('a\nb\u0000'), { instanceOf: CliError });
  t.true(binary?.message.startsWith('invalid function name "a?b?"'));
  t.false(binary?.message.includes('\n'));
});

test('a hint follows the rule', (t) => {
  const error = t.throws(() => assertFunctionName('X', 'give one with --name NAME'), { instanceOf: CliError });
  t.true(error?.message.endsWith('not ending with a dash; give one with --name NAME'));
});

test('one rule maps HTTP statuses to exit statuses', (t) => {
  const table: [number, number][] = [
    [400, 2], [413, 2], [401, 3], [403, 3], [404, 4], [502, 5], [504, 5],
    [405, 1], [409, 1], [429, 1], [500, 1], [503, 1],
  ];
  for (const [status, exit] of table) t.is(exitStatusForHttp(status), exit, String(status));
});
