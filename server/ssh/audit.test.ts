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

test('a line that does not split is masked after its verb and function name', (t) => {
  t.is(maskCommand('env set greet PASSWORD=hunter2; rm -rf /'), 'env set greet ••••••');
  t.is(maskCommand("env set greet 'PASSWORD=a b"), 'env set greet ••••••');
  t.is(maskCommand('logs greet; ls'), 'logs ••••••', 'a word glued to shell syntax is not shown either');
  t.is(maskCommand("login --key 'unclosed"), 'login ••••••');
  t.is(maskCommand("git-receive-pack '/greet.git"), 'git-receive-pack ••••••');
  t.false(maskCommand('env set greet "S=abc').includes('abc'));
});

// A quoted or escaped name hides the `=` from a pattern over the raw text: none of these may show the value.
const hidden: [string, string][] = [
  [`env set greet "DB_PASSWORD"=hunter2 '`, 'env set greet ••••••'],
  [`env set greet \\DB_PASSWORD=hunter2 "`, 'env set greet ••••••'],
  [`env set greet 'DB_PASSWORD'=hunter2 "`, 'env set greet ••••••'],
  [`env set greet DB_"PASS"WORD=hunter2 '`, 'env set greet ••••••'],
  [`env set greet MODE=prod X="hunter2`, 'env set greet ••••••'],
  [`env set "greet" DB_PASSWORD=hunter2 '`, 'env set ••••••'],
  [`invoke greet --data x; hunter2`, 'invoke greet ••••••'],
  [`  env   set\tgreet hunter2 |`, 'env set greet ••••••'],
  [`hunter2'`, '••••••'],
];
for (const [line, shown] of hidden) {
  test(`a line that does not split: ${JSON.stringify(line)}`, (t) => {
    t.is(maskCommand(line), shown);
    t.false(maskCommand(line).includes('hunter2'));
  });
}

test('a line that splits is masked after unquoting: quoted and escaped names, quoted options', (t) => {
  t.is(maskCommand(`env set greet "DB_PASSWORD"=hunter2`), 'env set greet DB_PASSWORD=••••••');
  t.is(maskCommand(`env set greet \\DB_PASSWORD=hunter2`), 'env set greet DB_PASSWORD=••••••');
  t.is(maskCommand(`env set greet 'DB_'PASSWORD=hunter2 "MODE=prod"`), 'env set greet DB_PASSWORD=•••••• MODE=••••••');
  t.is(maskCommand(`login "--key" hunter2`), 'login --key ••••••');
  t.is(maskCommand(`login '--key=hunter2'`), 'login --key=••••••');
});

test('a long line is cut', (t) => {
  t.true(maskCommand(`list ${'x'.repeat(500)}`).length <= 201);
});
