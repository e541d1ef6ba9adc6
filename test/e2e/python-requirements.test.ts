// End to end: requirements.txt files that pip would read as options although their lines do not start with one (a
// BOM before --index-url, an option after a form feed, after NEL) reject the push naming the line, and nothing is
// fetched from the index they name (a server on loopback here, which counts what it is asked); lines built to make
// the reader backtrack are refused at once. And a function using pydantic (whose core is a compiled extension, from the
// host's index) validates its events.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { example, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;
let index: http.Server;
let asked = 0;
let indexUrl = '';

test.before(async () => {
  await requireDocker();
  index = http.createServer((_req, res) => {
    asked += 1;
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => index.listen(0, '127.0.0.1', resolve));
  indexUrl = `http://127.0.0.1:${(index.address() as AddressInfo).port}/simple`;
  lambda = await startLambda();
});

test.after.always(async () => {
  await lambda?.destroy();
  index?.close();
});

const refused = test.macro({
  async exec(t, requirements: () => string, expected: RegExp) {
    const push = await lambda.push('pyreq', example('python-greet'), { files: { 'requirements.txt': requirements() } });
    t.not(push.code, 0, push.stderr);
    t.regex(push.stderr, expected);
    t.notRegex(push.stderr, /proxy: refused|Successfully installed|Looking in indexes/);
    t.is(asked, 0, 'nothing asked the index the file names');
    t.is((await lambda.api('/api/v1/functions/pyreq')).status, 404, 'nothing was deployed');
  },
  title: (label = '') => `requirements.txt is refused naming the line: ${label}`,
});

test.serial('a BOM then --index-url', refused, () => `\ufeff--index-url ${indexUrl}\nhumanize\n`, /requirements\.txt line 1: "--index-url http:\/\/127\.0\.0\.1:\d+\/simple": options such as "--index-url" are not supported/);
test.serial('an option after a form feed', refused, () => 'humanize\f--no-binary :all:\n', /requirements\.txt line 1 \("humanize\\f--no-binary :all:", where pip reads \\f as a line break\): "--no-binary :all:": options such as "--no-binary" are not supported/);
test.serial('an index after NEL', refused, () => `humanize\u0085--extra-index-url ${indexUrl}\n`, /requirements\.txt line 1 \("humanize\\x85--extra-index-url http:.*", where pip reads \\x85 as a line break\): .*options such as "--extra-index-url" are not supported/);
test.serial('an option after a requirement', refused, () => `humanize --index-url ${indexUrl}\n`, /requirements\.txt line 1: "humanize --index-url http:.*": options such as "--index-url" are not supported/);

// Lines built so that a backtracking pattern takes minutes of the install's CPU (a 4 KiB one took about a minute, a
// 12 KiB one the whole build timeout): refused at once, by length, or as not a requirement.
test.serial('a 4 KiB line of blanks', refused, () => `humanize\na${' '.repeat(4000)}!\n`, /requirements\.txt line 2: is longer than 1024 characters; a requirement is one short line/);
test.serial('blanks under the length cap', refused, () => `a${' '.repeat(1000)}!\n`, /requirements\.txt line 1: "a {10,}.*": only plain requirements are supported/);
test.serial('plain requirements still install, as pip reads them (CRLF, comments, markers)', async (t) => {
  const push = await lambda.push('pyreq', example('python-greet'), { files: { 'requirements.txt': '# greeting\r\nhumanize==4.16.0 ; python_version >= "3.8"  # numbers\r\n' } });
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, /Successfully installed humanize-4\.16\.0/);
  t.is(asked, 0);
});

test.serial('pydantic from the host index deploys by git push and validates events with its compiled core', async (t) => {
  const push = await lambda.push('pyorders', fixture('python-pydantic'));
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, /Successfully installed .*pydantic-\d/);
  t.regex(push.stderr, /pydantic-core-\d/);
  const valid = await lambda.fetch('/fn/pyorders/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"item":"tea","quantity":"3"}' });
  t.is(valid.status, 200);
  const answer = (await valid.json()) as { order: unknown; pydantic: string; core: string };
  t.deepEqual(answer.order, { item: 'tea', quantity: 3, express: false }, 'the model coerced and filled in the order');
  t.regex(answer.core, /^_pydantic_core\..*\.so$/, 'the compiled extension loaded');
  const invalid = await lambda.fetch('/fn/pyorders/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"item":"","quantity":0}' });
  t.is(invalid.status, 400);
  t.deepEqual(await invalid.json(), {
    errors: [
      { loc: ['item'], type: 'string_too_short', msg: 'String should have at least 1 character' },
      { loc: ['quantity'], type: 'greater_than', msg: 'Input should be greater than 0' },
    ],
  });
});
