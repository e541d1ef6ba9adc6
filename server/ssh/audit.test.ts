// The SSH log line's masking: env values, credential options, and lines that do not split.
import test from 'ava';
import { maskCommand } from './audit.js';

test('env set values are masked, names kept', (t) => {
  t.is(maskCommand('env set greet DB_PASSWORD=hunter2 MODE=prod'), 'env set greet DB_PASSWORD=•••••• MODE=••••••');
  t.is(maskCommand(`env set greet 'TOKEN=two words'`), 'env set greet TOKEN=••••••');
  t.is(maskCommand('env set greet "A=x\\"y" B='), 'env set greet A=•••••• B=••••••');
});

test('credential options are masked, with = or as the next word', (t) => {
  t.is(maskCommand('login --key sk_live_123'), 'login --key ••••••');
  t.is(maskCommand('login --key=sk_live_123'), 'login --key=••••••');
  t.is(maskCommand('tokens create --token abc --api-key=def'), 'tokens create --token •••••• --api-key=••••••');
});

test('the rest is shown as it was: verbs, names, payloads', (t) => {
  t.is(maskCommand('logs greet --follow'), 'logs greet --follow');
  t.is(maskCommand(`invoke greet --data '{"name":"World"}'`), `invoke greet --data '{"name":"World"}'`);
  t.is(maskCommand("git-receive-pack '/greet.git'"), 'git-receive-pack /greet.git');
});

test('a line that does not split is masked from its text', (t) => {
  t.is(maskCommand('env set greet PASSWORD=hunter2; rm -rf /'), 'env set greet PASSWORD=••••••');
  t.is(maskCommand("env set greet 'PASSWORD=a b"), "env set greet 'PASSWORD=••••••");
  t.is(maskCommand('logs greet; ls'), 'logs greet; ls');
  t.is(maskCommand("login --key 'unclosed"), 'login --key ••••••');
  t.false(maskCommand('env set greet "S=abc').includes('abc'));
});

test('a long line is cut', (t) => {
  t.true(maskCommand(`list ${'x'.repeat(500)}`).length <= 201);
});
