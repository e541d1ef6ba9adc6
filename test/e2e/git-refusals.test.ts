// End to end: every refusal of git over HTTP reaches the git user as `remote:` lines with its reason and code.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { command, example, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
});

test.after.always(async () => {
  await lambda?.destroy();
});

/** Git shows the text of a refusal only when it is plain text: each line as `remote: …`. */
const REMOTE_LINE = (code: string, reason: RegExp) => new RegExp(`remote: +! +${reason.source}.*\\(${code}\\)`);

test('a push to a bad name shows why and the code, not only "error: 400"', async (t) => {
  const push = await lambda.push('Bad_Name', example('greet'));
  t.not(push.code, 0);
  t.regex(push.stderr, REMOTE_LINE('LAMBDA_ERR_INVALID_NAME', /invalid function name "Bad_Name": use 1-63 lower-case letters/));
  t.regex(push.stderr, /400/);
});

test('a push with an invoke-only token shows the 403 reason and code', async (t) => {
  const created = await lambda.cli(['tokens', 'create', '--name', 'caller', '--invoke', '--json']);
  t.is(created.code, 0, created.stderr);
  const { key } = JSON.parse(created.stdout) as { key: string };
  const push = await lambda.push('refused', example('greet'), { key });
  t.not(push.code, 0);
  t.regex(push.stderr, REMOTE_LINE('LAMBDA_ERR_FORBIDDEN', /this API token only invokes/));
  t.regex(push.stderr, /403/);
  t.false(fs.existsSync(path.join(lambda.dataDir, 'data', 'repos', 'refused.git')));
});

test('a fetch of a function that does not exist shows the 404 reason and code', async (t) => {
  const clone = await command('git', ['clone', `http://lambda:${lambda.key}@127.0.0.1:${lambda.port}/git/nobody-here.git`, path.join(lambda.dataDir, 'clone')]);
  t.not(clone.code, 0);
  t.regex(clone.stderr, REMOTE_LINE('LAMBDA_ERR_FUNCTION_NOT_FOUND', /function "nobody-here" does not exist/));
});

test('a remote without .git is answered with the URL it meant', async (t) => {
  const clone = await command('git', ['clone', `http://lambda:${lambda.key}@127.0.0.1:${lambda.port}/git/greet`, path.join(lambda.dataDir, 'no-suffix')]);
  t.not(clone.code, 0);
  t.regex(clone.stderr, REMOTE_LINE('LAMBDA_ERR_ROUTE_NOT_FOUND', /no route for GET \/git\/greet\/info\/refs: did you mean \/git\/greet\.git\?/));
});

test('a wrong key shows the code beside how to log in', async (t) => {
  const push = await lambda.push('wrong-key', example('greet'), { key: 'not-a-key' });
  t.not(push.code, 0);
  t.regex(push.stderr, REMOTE_LINE('LAMBDA_ERR_UNAUTHORIZED', /a valid API token is required: run `lambda login URL`/));
});

test('the answers are plain text whatever the refusal, the pack POST included', async (t) => {
  const auth = `Basic ${Buffer.from(`lambda:${lambda.key}`).toString('base64')}`;
  const refs = await lambda.fetch('/git/Bad_Name.git/info/refs?service=git-receive-pack', { headers: { authorization: auth } });
  t.is(refs.status, 400);
  t.regex(refs.headers.get('content-type') ?? '', /^text\/plain/);
  t.regex(await refs.text(), /\(LAMBDA_ERR_INVALID_NAME\)\n$/);
  const pack = await lambda.fetch('/git/Bad_Name.git/git-receive-pack', { method: 'POST', headers: { authorization: auth }, body: '0000' });
  t.is(pack.status, 400);
  t.regex(await pack.text(), /\(LAMBDA_ERR_INVALID_NAME\)\n$/);
});
