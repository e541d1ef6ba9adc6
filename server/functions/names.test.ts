// Unit tests of function-name validation against hostile input: traversal, encodings, case, length, shell, Unicode.
import test from 'ava';
import { LambdaError } from '../errors.js';
import { DASHBOARD_LABEL } from '../http/routes.js';
import { assertFunctionName, assertNewFunctionName } from './names.js';

const accepted = test.macro({
  exec(t, name: string) {
    t.is(assertFunctionName(name), name);
  },
  title: (_provided, name: string) => `accepts ${JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}… (${name.length})` : name)}`,
});

test(accepted, 'a');
test(accepted, 'greet');
test(accepted, 'hello-world');
test(accepted, 'api2');
test(accepted, 'a1-b2-c3');
test(accepted, 'a'.repeat(63));

const refused = test.macro({
  exec(t, name: string) {
    const error = t.throws(() => assertFunctionName(name), { instanceOf: LambdaError, code: 'LAMBDA_ERR_INVALID_NAME' });
    t.is(error.kind, 'invalid');
  },
  title: (_provided, name: string) => `refuses ${JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}… (${name.length})` : name)}`,
});

test(refused, '');
test(refused, '.');
test(refused, '..');
test(refused, '../x');
test(refused, 'a/b');
test(refused, 'a\\b');
test(refused, '/etc');
test(refused, '%2e%2e');
test(refused, '%2E%2E%2Fx');
test(refused, 'Greet');
test(refused, 'GREET');
test(refused, '1abc');
test(refused, '-a');
test(refused, 'greet-');
test(refused, 'a-');
test(refused, '_a');
test(refused, 'a_b');
test(refused, 'a.b');
test(refused, 'a'.repeat(64));
test(refused, 'a'.repeat(10_000));
test(refused, 'a b');
test(refused, ' a');
test(refused, 'a\n');
test(refused, 'a\u0000');
test(refused, 'a;rm -rf');
test(refused, '$(id)');
test(refused, 'é');
test(refused, 'grеet'); // Cyrillic "е"

test('the refusal message never echoes control characters or an unbounded name', (t) => {
  const control = t.throws(() => assertFunctionName('a\nb\u001b[31m'), { instanceOf: LambdaError });
  t.false(control.message.includes('\n'));
  t.false(control.message.includes('\u001b'));
  t.true(control.message.includes('"a?b?[31m"'));

  const huge = t.throws(() => assertFunctionName('x'.repeat(100_000)), { instanceOf: LambdaError });
  t.true(huge.message.length < 300, `message is ${huge.message.length} characters`);
});

test('"dashboard" is reserved for a new function: its host serves the dashboard', (t) => {
  const error = t.throws(() => assertNewFunctionName(DASHBOARD_LABEL), { instanceOf: LambdaError, code: 'LAMBDA_ERR_NAME_RESERVED' });
  t.is(error.kind, 'invalid');
  t.regex(error.message, /"dashboard" is reserved: .*dashboard\.<domain>/);
  // One made before the name was reserved can still be named, to read or delete it.
  t.is(assertFunctionName('dashboard'), 'dashboard');
  t.is(assertNewFunctionName('dashboards'), 'dashboards');
  t.is(assertNewFunctionName('greet'), 'greet');
  t.throws(() => assertNewFunctionName('../x'), { instanceOf: LambdaError, code: 'LAMBDA_ERR_INVALID_NAME' });
  t.throws(() => assertNewFunctionName('toString'), { instanceOf: LambdaError, code: 'LAMBDA_ERR_INVALID_NAME' });
  t.is(assertNewFunctionName('constructor'), 'constructor');
});
