// Unit tests of git-credential.ts: reading git's request, which servers get the key, the answer and the helper line.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { credentialAnswer, helperCommand, helperMayApply, helpersAfterOurs, laterHelperWarning, parseConfigListing, parseCredentialRequest, requestMatches, serverOrigin, shellQuote } from './git-credential.js';

const ask = (text: string) => parseCredentialRequest(text);

test('a request is key=value lines up to a blank line; the first of a key wins, other lines are skipped', (t) => {
  const request = ask('protocol=http\r\nhost=localhost:8080\nnot a pair\n=novalue\nhost=evil.example\npath=git/a.git\n\nprotocol=https\n');
  t.deepEqual([...request], [
    ['protocol', 'http'],
    ['host', 'localhost:8080'],
    ['path', 'git/a.git'],
  ]);
  t.deepEqual([...ask('')], []);
  t.is(ask('password=a=b\n').get('password'), 'a=b');
});

test('the configured server matches on protocol, host and port, whatever the path', (t) => {
  const server = 'http://localhost:8080';
  t.true(requestMatches(ask('protocol=http\nhost=localhost:8080\n'), server));
  t.true(requestMatches(ask('protocol=http\nhost=LOCALHOST:8080\npath=git/greet.git\n'), server));
  t.true(requestMatches(ask('protocol=http\nhost=localhost:8080\n'), 'http://localhost:8080/some/prefix'));
  // Default ports compare as git compares them.
  t.true(requestMatches(ask('protocol=https\nhost=lambda.example\n'), 'https://lambda.example:443'));
  t.true(requestMatches(ask('protocol=http\nhost=lambda.example:80\n'), 'http://lambda.example'));
});

test('any other protocol, host or port gets nothing', (t) => {
  const server = 'http://localhost:8080';
  for (const request of [
    'protocol=http\nhost=localhost:8081\n',
    'protocol=http\nhost=localhost\n',
    'protocol=https\nhost=localhost:8080\n',
    'protocol=http\nhost=127.0.0.1:8080\n',
    'protocol=http\nhost=localhost.evil.example:8080\n',
    'protocol=http\nhost=evil.example@localhost:8080\n',
    'protocol=http\nhost=localhost:8080/x\n',
    'protocol=http\nhost=localhost:8080#\n',
    'protocol=ssh\nhost=localhost:8080\n',
    'protocol=http://localhost:8080 x\nhost=localhost:8080\n',
    'host=localhost:8080\n',
    'protocol=http\n',
    '',
  ]) {
    t.false(requestMatches(ask(request), server), request);
  }
  t.false(requestMatches(ask('protocol=http\nhost=localhost:8080\n'), 'not a url'));
});

test('serverOrigin keeps scheme, host and port only, and refuses what is not http(s)', (t) => {
  t.is(serverOrigin('http://localhost:8080/'), 'http://localhost:8080');
  t.is(serverOrigin('HTTPS://Lambda.Example:443/api'), 'https://lambda.example');
  t.is(serverOrigin('ftp://localhost'), undefined);
  t.is(serverOrigin('localhost:8080'), undefined);
});

test('the answer is the user name and the key; a key git cannot carry is refused', (t) => {
  t.is(credentialAnswer('lambda_abc'), 'username=lambda\npassword=lambda_abc\n');
  for (const bad of ['a\nprotocol=https', 'a\rb', 'a\0b']) t.throws(() => credentialAnswer(bad), { message: /line break or NUL/ });
});

test('the helper line runs Node and the launcher by absolute path, each one shell word whatever it holds', (t) => {
  t.is(helperCommand('/usr/bin/node', '/opt/lambda/bin/lambda.js'), "!'/usr/bin/node' '/opt/lambda/bin/lambda.js' git-credential");
  const odd = "/home/o'neil/my lambda/bin/lambda.js";
  t.is(shellQuote(odd), "'/home/o'\\''neil/my lambda/bin/lambda.js'");
  // The shell reads the quoted word back as it was.
  t.is(execFileSync('sh', ['-c', `printf %s ${shellQuote(odd)}`], { encoding: 'utf8' }), odd);
});

const SERVER = 'http://localhost:8080';
const OURS = "!'/usr/bin/node' '/opt/lambda/bin/lambda.js' git-credential";
const listing = (...entries: [string, string, string?][]) => entries.map(([origin, key, value]) => `${origin}\0${key}${value === undefined ? '' : `\n${value}`}\0`).join('');
const later = (text: string) => helpersAfterOurs(parseConfigListing(text), SERVER).map((entry) => `${entry.key}=${entry.value}`);

test('helpers read after lambda\'s for its server are found; ones before its reset, or for other servers, are not', (t) => {
  const global = 'file:/home/u/.gitconfig';
  const cases: [string, string, string[]][] = [
    ['nothing else', listing([global, `credential.${SERVER}.helper`, ''], [global, `credential.${SERVER}.helper`, OURS]), []],
    ['a generic store before the section', listing([global, 'credential.helper', 'store'], [global, `credential.${SERVER}.helper`, ''], [global, `credential.${SERVER}.helper`, OURS]), []],
    ['a generic store after the section', listing([global, `credential.${SERVER}.helper`, ''], [global, `credential.${SERVER}.helper`, OURS], [global, 'credential.helper', 'store']), ['credential.helper=store']],
    ['a repository\'s own helper, read last', listing([global, `credential.${SERVER}.helper`, OURS], ['file:.git/config', 'credential.helper', 'cache --timeout=60']), ['credential.helper=cache --timeout=60']],
    ['another helper for the same server after ours', listing([global, `credential.${SERVER}.helper`, OURS], [global, `credential.${SERVER}.helper`, 'osxkeychain']), [`credential.${SERVER}.helper=osxkeychain`]],
    ['a helper for another server', listing([global, `credential.${SERVER}.helper`, OURS], [global, 'credential.https://github.com.helper', 'store']), []],
    ['a reset after ours, then a store', listing([global, `credential.${SERVER}.helper`, OURS], [global, 'credential.helper', 'a'], [global, 'credential.helper', ''], [global, 'credential.helper', 'store']), ['credential.helper=store']],
    ['a key without a value is a reset', listing([global, `credential.${SERVER}.helper`, OURS], [global, 'credential.helper', 'store'], [global, 'credential.helper']), []],
    ['ours missing', listing([global, 'credential.helper', 'store']), []],
    ['no helpers at all', '', []],
  ];
  for (const [title, text, expected] of cases) t.deepEqual(later(text), expected, title);
});

test('a helper whose URL may name the server counts, whatever git variant it is written in; only another host is left out', (t) => {
  const server = 'http://localhost:18484';
  const cases: [string, boolean][] = [
    ['credential.helper', true],
    ['credential.http://localhost:18484.helper', true],
    ['credential.http://localhost:18484/.helper', true],
    ['credential.http://localhost:18484/git/app.git.helper', true],
    ['credential.http://lambda@localhost:18484.helper', true],
    ['credential.http://lambda:pw@localhost:18484/.helper', true],
    ['credential.HTTP://LocalHost:18484.helper', true],
    ['credential.http://localhost.:18484.helper', true],
    ['credential.https://localhost:18484.helper', true],
    ['credential.http://localhost.helper', true],
    ['credential.http://localhost:9999.helper', true],
    ['credential.localhost.helper', true],
    ['credential.localhost:18484.helper', true],
    ['credential.lambda@localhost.helper', true],
    ['credential.http://*.helper', true],
    ['credential.http://local*:18484.helper', true],
    ['credential.http://localhost%3a18484.helper', true],
    ['credential.http://loc%61lhost.helper', true],
    ['credential.http://.helper', true],
    ['credential.http://[::1].helper', false],
    ['credential.https://github.com.helper', false],
    ['credential.https://github.com/localhost.helper', false],
    ['credential.https://localhost@github.com.helper', false],
    ['credential.https://*.example.com.helper', false],
    ['credential.http://*.localhost.helper', false],
    ['credential.http://localhost.example.com.helper', false],
    ['credential.example.com.helper', false],
    ['credential.http://127.0.0.1:18484.helper', false],
    ['credential.usehttppath', false],
    ['credential.http://localhost:18484.username', false],
  ];
  for (const [key, applies] of cases) t.is(helperMayApply(key, server), applies, key);
  t.true(helperMayApply('credential.http://[::1]:8080/.helper', 'http://[::1]:8080'));
  t.false(helperMayApply('credential.http://[::2]:8080/.helper', 'http://[::1]:8080'));
});

test('storing helpers after lambda\'s written as URL variants are found; a reset only clears when sure to apply', (t) => {
  const global = 'file:/home/u/.gitconfig';
  const ours: [string, string, string][] = [[global, `credential.${SERVER}.helper`, ''], [global, `credential.${SERVER}.helper`, OURS]];
  const cases: [string, string, string[]][] = [
    ['a trailing slash', listing(...ours, ['file:.git/config', `credential.${SERVER}/.helper`, 'store']), [`credential.${SERVER}/.helper=store`]],
    ['a user name', listing(...ours, [global, 'credential.http://me@localhost:8080.helper', 'store']), ['credential.http://me@localhost:8080.helper=store']],
    ['a wildcard host', listing(...ours, [global, 'credential.http://*:8080.helper', 'store']), ['credential.http://*:8080.helper=store']],
    ['no scheme', listing(...ours, [global, 'credential.localhost.helper', 'store']), ['credential.localhost.helper=store']],
    ['another host', listing(...ours, [global, 'credential.https://github.com/.helper', 'store']), []],
    ['lambda\'s own helper again, for a variant', listing(...ours, [global, `credential.${SERVER}/.helper`, OURS]), []],
    ['a variant\'s reset is not trusted to clear', listing(...ours, [global, 'credential.helper', 'store'], [global, `credential.${SERVER}/.helper`, '']), ['credential.helper=store']],
    ['a generic reset clears', listing(...ours, [global, `credential.${SERVER}/.helper`, 'store'], [global, 'credential.helper', '']), []],
  ];
  for (const [title, text, expected] of cases) t.deepEqual(later(text), expected, title);
});

test('git config -z listings are read as git writes them', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-gitconfig-'));
  try {
    const file = path.join(dir, 'config');
    fs.writeFileSync(file, `[credential "${SERVER}"]\n\thelper =\n\thelper = ${JSON.stringify(OURS)}\n[credential]\n\thelper = store\n`);
    const text = execFileSync('git', ['config', '-f', file, '--show-origin', '-z', '--get-regexp', '^credential\\..*helper$'], { encoding: 'utf8' });
    t.deepEqual(later(text), ['credential.helper=store']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the warning names the helper, where it is set, and what to do; control characters are not shown', (t) => {
  const line = laterHelperWarning({ origin: 'file:/home/u/.gitconfig', key: 'credential.helper', value: 'store\x1b[2J' }, SERVER);
  t.regex(line, /^credential\.helper "store\?\[2J" \(file:\/home\/u\/\.gitconfig\) comes after lambda's helper: .*plain text .*before the \[credential "http:\/\/localhost:8080"\] section/);
});
