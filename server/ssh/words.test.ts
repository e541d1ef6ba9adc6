// The exec command splitter and what SSH agrees to run: shell quoting understood, shell syntax refused, names validated.
import test from 'ava';
import { LambdaError } from '../errors.js';
import { parseSshCommand } from './commands.js';
import { splitWords } from './words.js';

const splits = test.macro({
  exec(t, command: string, words: string[]) {
    t.deepEqual(splitWords(command), words);
  },
  title: (label = '') => `splits ${label}`,
});

test('plain words', splits, 'logs  greet\t--follow', ['logs', 'greet', '--follow']);
test('single quotes', splits, `invoke greet --data '{"name": "a b"}'`, ['invoke', 'greet', '--data', '{"name": "a b"}']);
test('double quotes with escapes', splits, 'invoke greet --data "{\\"a\\":\\"\\\\\\"}"', ['invoke', 'greet', '--data', '{"a":"\\"}']);
test('a backslash outside quotes', splits, 'a\\ b c', ['a b', 'c']);
test('empty quotes as an argument', splits, "env set greet A=''", ['env', 'set', 'greet', 'A=']);
test("git's own form", splits, "git-receive-pack '/greet.git'", ['git-receive-pack', '/greet.git']);
test('operators inside quotes stay text', splits, `logs 'greet; rm -rf /' "$(x)"`, ['logs', 'greet; rm -rf /', '$(x)']);

const refused = test.macro({
  exec(t, command: string, detail: RegExp) {
    const error = t.throws(() => parseSshCommand(command), { instanceOf: LambdaError });
    t.regex(`${error?.message} (${error?.code})`, detail);
  },
  title: (label = '') => `refuses ${label}`,
});

for (const operator of [';', '&', '|', '<', '>', '`', '$', '(', ')']) {
  test(`an unquoted ${operator}`, refused, `logs greet${operator}id`, /is shell syntax.*LAMBDA_ERR_SSH_REFUSED/);
}
test('a newline', refused, 'list\nid', /"\\n" is shell syntax/);
test('an open single quote', refused, "logs 'greet", /single quote is not closed/);
test('an open double quote', refused, 'logs "greet', /double quote is not closed/);
test('a trailing backslash', refused, 'logs greet\\', /ends with a backslash/);
test('a NUL', refused, 'logs gr\0eet', /NUL/);
test('nothing', refused, '', /give a command/);
test('only --json', refused, '--json', /give a command/);
test('a verb outside the list', refused, 'deploy /etc', /"deploy" is not a command SSH runs/);
test('login', refused, 'login http://evil', /"login" is not a command/);
test('keys', refused, 'keys add /etc/passwd', /"keys" is not a command/);
test('a program path', refused, '/bin/sh -c id', /^unknown command '\/bin\/sh' \(see ssh lambda@HOST help\); SSH runs /);
test('scp', refused, 'scp -t /tmp', /^unknown command 'scp' \(see ssh lambda@HOST help\); SSH runs /);
test('a repository outside the folder', refused, "git-receive-pack '../../etc'", /invalid function name "\.\.\/\.\.\/etc".*LAMBDA_ERR_INVALID_NAME/);
test('a nested repository path', refused, "git-upload-pack '/a/b.git'", /invalid function name "a\/b"/);
test('an option as the repository', refused, "git-upload-pack '--upload-pack=id'", /invalid function name "--upload-pack=id"/);
test('a second git argument', refused, "git-upload-pack '/greet.git' '--strict'", /exactly one repository path/);

test('verbs pass to the CLI as argv, --json first or later', (t) => {
  t.deepEqual(parseSshCommand('--json list'), { kind: 'cli', argv: ['--json', 'list'] });
  t.deepEqual(parseSshCommand("logs greet --follow --since '1h'"), { kind: 'cli', argv: ['logs', 'greet', '--follow', '--since', '1h'] });
  t.deepEqual(parseSshCommand('dlq replay greet abc'), { kind: 'cli', argv: ['dlq', 'replay', 'greet', 'abc'] });
});

test('git paths in the forms clients send', (t) => {
  for (const path of ["'/greet.git'", "'greet.git'", "'~/greet.git'", "'/greet'", "'/greet.git/'"]) {
    t.deepEqual(parseSshCommand(`git-receive-pack ${path}`), { kind: 'git', service: 'receive-pack', name: 'greet' }, path);
  }
  t.deepEqual(parseSshCommand("git-upload-pack '/greet.git'"), { kind: 'git', service: 'upload-pack', name: 'greet' });
});

test('help, --help and -h list the verbs SSH runs with what each does, and none it refuses', (t) => {
  for (const command of ['help', '--help', '-h', '--json help']) {
    const parsed = parseSshCommand(command);
    if (parsed.kind !== 'help') return void t.fail(`${command}: ${parsed.kind}`);
    t.regex(parsed.text, /^ {2}logs +print a function's output/m, command);
    t.regex(parsed.text, /^ {2}invocations +/m, command);
    t.regex(parsed.text, /git push/, command);
    t.notRegex(parsed.text, /^ {2}(deploy|login|tokens|keys|validate|setup-git|git-credential)\b/m, command);
  }
});

test("help VERB is that verb's --help; help of a verb SSH refuses is refused", (t) => {
  t.deepEqual(parseSshCommand('help logs'), { kind: 'cli', argv: ['logs', '--help'] });
  t.throws(() => parseSshCommand('help deploy'), { message: /"deploy" is not a command SSH runs/ });
});

test('SSH never runs the verbs that touch files where they run or manage credentials', (t) => {
  for (const verb of ['deploy', 'validate', 'login', 'keys', 'tokens', 'git-credential', 'setup-git']) {
    t.throws(() => parseSshCommand(`${verb} x`), { message: new RegExp(`"${verb}" is not a command SSH runs`) }, verb);
  }
});

test('an unknown verb near one SSH runs is answered with the near one', (t) => {
  t.throws(() => parseSshCommand('lgos greet'), { message: /^unknown command 'lgos'; did you mean 'logs'\? SSH runs / });
});

test("a Heroku verb is answered with Lambda's word for it", (t) => {
  t.throws(() => parseSshCommand('config greet'), { message: /^unknown command 'config' \(Heroku's config is `lambda env`\); SSH runs / });
});

test('an option where the command goes is named as one, not matched to a verb', (t) => {
  t.throws(() => parseSshCommand('--version'), { message: /^"--version" is not a command SSH runs \(of the CLI's options only --json comes before the command\)/ });
});
