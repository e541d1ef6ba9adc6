// End to end: a push shows one short line per build step, the whole output (clean of escapes and
// control characters) only when the build fails, and an ES module's syntax error with its file and line.
import test from 'ava';
import { example, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
});

test.after.always(async () => {
  await lambda?.destroy();
});

const ESC = '\x1b';
// Any C0/C1 control character but the newline git's sideband ends lines with (and the tab in "ERROR\tInit Error").
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

test.serial('a good push shows one line per build step and none of the engine chatter', async (t) => {
  const push = await lambda.push('tidy', example('greet'));
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, /remote: {8}\[1\/\d\] FROM lambda\/base-node20:/);
  t.regex(push.stderr, /remote: {8}\[\d\/\d\] COPY code\/ \/var\/task\//);
  t.notRegex(push.stderr, /(^|\s)--->|Step \d|Removing intermediate container|Successfully (built|tagged)/m);
  t.false(push.stderr.includes(ESC));
  t.false(CONTROL.test(push.stderr.replaceAll('\r', '')), 'no raw control characters besides line ends');
  t.regex(push.stderr, /Live at/);
});

test.serial('a dependency that does not exist fails the build with npm\'s error, without escape codes', async (t) => {
  const push = await lambda.push('nodep', fixture('missing-dependency'));
  t.not(push.code, 0);
  t.regex(push.stderr, /remote: {2}! {5}npm error .*404/);
  t.regex(push.stderr, /lambda-e2e-no-such-package-7f3c9b/);
  t.regex(push.stderr, /installing dependencies failed: .*LAMBDA_ERR_BUILD_FAILED/);
  t.false(push.stderr.includes(ESC));
  t.notRegex(push.stderr, /Starting nodep/);
});

test.serial('a broken package.json fails the build with npm\'s parse error', async (t) => {
  const push = await lambda.push('badjson', fixture('broken-package-json'));
  t.not(push.code, 0);
  t.regex(push.stderr, /remote: {2}! {5}npm error .*(JSON|EJSONPARSE)/);
  t.regex(push.stderr, /LAMBDA_ERR_BUILD_FAILED/);
  t.false(push.stderr.includes(ESC));
});

test.serial('escape sequences and control characters from a pushed repository never reach the terminal raw', async (t) => {
  // npm repeats the hostile dependency name in its error; the name carries a colour, a title change and a bell.
  const name = `evil${ESC}[31mred${ESC}]0;pwned\x07${ESC}[2J\x9b1m`;
  const push = await lambda.push('escapes', fixture('missing-dependency'), {
    files: { 'package.json': JSON.stringify({ name: 'escapes', dependencies: { [name]: '1.0.0' } }) },
  });
  t.not(push.code, 0);
  t.regex(push.stderr, /LAMBDA_ERR_BUILD_FAILED/);
  t.false(push.stderr.includes(ESC));
  t.false(CONTROL.test(push.stderr.replaceAll('\r', '')));
});

test.serial('an ES module with a syntax error is rejected with its file and line', async (t) => {
  const push = await lambda.push('esmbad', fixture('esm-syntax-error'));
  t.not(push.code, 0);
  t.regex(push.stderr, /LAMBDA_ERR_HEALTHCHECK_FAILED/);
  t.regex(push.stderr, /remote: .*index\.mjs:3/);
  t.regex(push.stderr, /return \{ ok: true, event ;/);
  t.regex(push.stderr, /SyntaxError: Unexpected token ';'/);
});
