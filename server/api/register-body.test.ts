// A registration's body read into a commit's files: lambda.yaml written from its keys and checked as a push's,
// each file's path and base64 checked, and each refusal naming the field at fault.
import test from 'ava';
import { parse } from 'yaml';
import { LambdaError } from '../errors.js';
import { jsonObject } from './json-body.js';
import { MAX_FILES, MAX_MANIFEST_DEPTH, fileUnderFile, notJsonHint, pathProblem, registrationFiles, strictBase64 } from './register-body.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const LIMITS = { maxBytes: 1024 };
const INDEX = { 'index.js': b64('exports.handler = async () => "hi";\n') };

function refusal(t: import('ava').ExecutionContext, body: Record<string, unknown>, limits = LIMITS): LambdaError {
  const error = t.throws(() => registrationFiles(body, 'greet', limits));
  if (!(error instanceof LambdaError)) throw new Error(`not a LambdaError: ${String(error)}`);
  return error;
}

test('the keys beside files become lambda.yaml, in their order, and every file is decoded', (t) => {
  const files = registrationFiles({ runtime: 'node20', handler: 'index.handler', files: { ...INDEX, 'lib/util.js': b64('module.exports = 1;\n') }, schedules: [{ cron: '*/5 * * * *', payload: { n: 1 } }] }, 'greet', LIMITS);
  t.deepEqual(files.map((file) => file.path), ['index.js', 'lib/util.js', 'lambda.yaml']);
  t.is(files[1]?.content.toString(), 'module.exports = 1;\n');
  const manifest = files.at(-1)?.content.toString() ?? '';
  t.deepEqual(parse(manifest), { runtime: 'node20', handler: 'index.handler', schedules: [{ cron: '*/5 * * * *', payload: { n: 1 } }] });
  t.true(manifest.startsWith('runtime: node20\nhandler: index.handler\n'));
});

test('strings YAML would read as something else stay strings in lambda.yaml', (t) => {
  const files = registrationFiles({ runtime: 'python3', handler: 'app.handler', env: { FLAG: 'yes', PORT: '08080', EMPTY: '' }, files: { 'app.py': b64('def handler(e, c):\n    return 1\n') } }, 'greet', LIMITS);
  t.deepEqual(parse(files.at(-1)?.content.toString() ?? ''), { runtime: 'python3', handler: 'app.handler', env: { FLAG: 'yes', PORT: '08080', EMPTY: '' } });
});

test('files alone may carry their own lambda.yaml, which is checked as a push checks it', (t) => {
  const yaml = 'runtime: node20\nhandler: index.handler\n';
  const files = registrationFiles({ files: { ...INDEX, 'lambda.yaml': b64(yaml) } }, 'greet', LIMITS);
  t.is(files.find((file) => file.path === 'lambda.yaml')?.content.toString(), yaml);
  const typo = refusal(t, { files: { ...INDEX, 'lambda.yaml': b64('runtime: node20\nhandlr: index.handler\n') } });
  t.is(typo.code, 'LAMBDA_ERR_MANIFEST_INVALID');
});

test('a name equal to the URL\'s is allowed, with keys or with a lambda.yaml; another name is refused', (t) => {
  t.is(registrationFiles({ name: 'greet', runtime: 'node20', handler: 'index.handler', files: INDEX }, 'greet', LIMITS).length, 2);
  t.is(registrationFiles({ name: 'greet', files: { ...INDEX, 'lambda.yaml': b64('runtime: node20\nhandler: index.handler\n') } }, 'greet', LIMITS).length, 2);
  const other = refusal(t, { name: 'other', runtime: 'node20', handler: 'index.handler', files: INDEX });
  t.is(other.code, 'LAMBDA_ERR_BAD_REQUEST');
  t.is(other.details.field, 'name');
  t.regex(other.message, /"name" is "other" but the URL registers "greet"/);
});

test('a problem with a key beside "files" names that field, not a line of a lambda.yaml nobody sent', (t) => {
  const typo = refusal(t, { runtme: 'node20', handler: 'index.handler', files: INDEX });
  t.is(typo.code, 'LAMBDA_ERR_BAD_REQUEST');
  t.is(typo.details.field, 'runtme');
  t.true(typo.message.startsWith('"runtme": unknown key (did you mean "runtime"?)'), typo.message);
  t.notRegex(typo.message, /lambda\.yaml|line \d/);
  const cron = refusal(t, { runtime: 'node20', handler: 'index.handler', schedules: [{ cron: 'every minute' }], files: INDEX });
  t.is(cron.details.field, 'schedules[0].cron');
  t.regex(cron.message, /^"schedules\[0\]\.cron": expected 5 or 6 cron fields/);
  const nested = refusal(t, { runtime: 'node20', handler: 'index.handler', schedules: [{ crn: '* * * * *' }], files: INDEX });
  t.regex(nested.message, /"schedules\[0\]\.crn": unknown key \(did you mean "cron"\?\)/);
  const runtime = refusal(t, { runtime: 'cobol', handler: 'index.handler', files: INDEX });
  t.is(runtime.details.field, 'runtime');
  t.regex(runtime.message, /^"runtime": expected one of/);
  const missing = refusal(t, { handler: 'index.handler', files: INDEX });
  t.regex(missing.message, /^"runtime": is required/);
  // The other platform's keys are not lambda.yaml's: said so, with the keys that are.
  const foreign = refusal(t, { language: 'go', files: INDEX });
  t.regex(foreign.message, /^"language": unknown key \(allowed: runtime, handler/);
  // Every problem is listed, each by its field.
  const two = refusal(t, { runtime: 'node20', handlr: 'index.handler', timout: '5s', files: INDEX });
  t.deepEqual(two.details.problems, ['"handlr": unknown key (did you mean "handler"?)', '"timout": unknown key (did you mean "timeout"?)', '"handler": is required for runtime node20 (e.g. "index.handler")']);
});

test('"file" or "Files" for "files" gets a did-you-mean naming that key', (t) => {
  for (const key of ['file', 'Files', 'fils']) {
    const error = refusal(t, { runtime: 'node20', handler: 'index.handler', [key]: INDEX });
    t.is(error.code, 'LAMBDA_ERR_BAD_REQUEST');
    t.is(error.details.field, key);
    t.is(error.message, `${JSON.stringify(key)}: unknown key (did you mean "files"?)`);
  }
});

test('a body that is not JSON because a string breaks lines (base64 without -w0) is told to use base64 -w0', (t) => {
  const wrapped = `{"runtime": "node20", "files": {"index.js": "${'QUJD'.repeat(19)}\n${'QUJD'.repeat(2)}"}}`;
  const error = notJsonHint(jsonError(wrapped));
  if (!(error instanceof LambdaError)) throw new Error('not a LambdaError');
  t.is(error.code, 'LAMBDA_ERR_BAD_REQUEST');
  t.regex(error.message, /^the body is not JSON: Bad control character in string literal.*`base64 -w0 FILE`/);
  // Any other reason stays as it was.
  const other = jsonError('{"runtime": ');
  t.is(notJsonHint(other), other);
});

function jsonError(text: string): unknown {
  try {
    jsonObject(text);
  } catch (error) {
    return error;
  }
  throw new Error('parsed');
}

const refusals: Array<[string, Record<string, unknown>, string, RegExp]> = [
  ['files missing', { runtime: 'node20', handler: 'index.handler' }, 'files', /"files" is required/],
  ['files a string', { runtime: 'node20', handler: 'index.handler', files: 'aGk=' }, 'files', /"files" must be an object/],
  ['files a list', { runtime: 'node20', handler: 'index.handler', files: ['aGk='] }, 'files', /"files" must be an object/],
  ['files null', { runtime: 'node20', handler: 'index.handler', files: null }, 'files', /"files" must be an object/],
  ['files empty', { runtime: 'node20', handler: 'index.handler', files: {} }, 'files', /"files" is empty/],
  ['no manifest at all', { files: INDEX }, 'runtime', /"runtime" is required/],
  ['keys and a lambda.yaml', { runtime: 'node20', files: { ...INDEX, 'lambda.yaml': b64('runtime: node20\n') } }, 'files["lambda.yaml"]', /files\["lambda.yaml"\]: give lambda.yaml's keys beside "files" or as files\["lambda.yaml"\], not both/],
  ['content a number', { runtime: 'node20', handler: 'index.handler', files: { 'index.js': 12 } }, 'files["index.js"]', /files\["index.js"\]: expected the file's content as a base64 string/],
  ['content with a space', { runtime: 'node20', handler: 'index.handler', files: { 'index.js': 'aGk gaGk=' } }, 'files["index.js"]', /files\["index.js"\]: not valid base64/],
  ['content with a line break', { runtime: 'node20', handler: 'index.handler', files: { 'index.js': 'aGVs\nbG8=' } }, 'files["index.js"]', /not valid base64/],
  ['content in base64url', { runtime: 'node20', handler: 'index.handler', files: { 'index.js': '-_-_' } }, 'files["index.js"]', /not valid base64/],
  ['content unpadded', { runtime: 'node20', handler: 'index.handler', files: { 'index.js': 'aGk' } }, 'files["index.js"]', /not valid base64/],
  ['an absolute path', { runtime: 'node20', handler: 'index.handler', files: { '/etc/passwd': b64('x') } }, 'files["/etc/passwd"]', /the path is absolute/],
  ['a path up', { runtime: 'node20', handler: 'index.handler', files: { '../../escape.js': b64('x') } }, 'files["../../escape.js"]', /has "\.\."/],
  ['a path up inside', { runtime: 'node20', handler: 'index.handler', files: { 'a/../../b.js': b64('x') } }, 'files["a/../../b.js"]', /has "\.\."/],
  ['a dot name', { runtime: 'node20', handler: 'index.handler', files: { './index.js': b64('x') } }, 'files["./index.js"]', /has "\."/],
  ['.git', { runtime: 'node20', handler: 'index.handler', files: { '.git/hooks/post-commit': b64('x') } }, 'files[".git/hooks/post-commit"]', /names "\.git"/],
  ['.GIT', { runtime: 'node20', handler: 'index.handler', files: { 'sub/.GIT/config': b64('x') } }, 'files["sub/.GIT/config"]', /names "\.git"/],
  ['.git with a trailing dot', { runtime: 'node20', handler: 'index.handler', files: { '.git./config': b64('x') } }, 'files[".git./config"]', /names "\.git"/],
  ['a backslash', { runtime: 'node20', handler: 'index.handler', files: { '..\\x.js': b64('x') } }, 'files["..\\\\x.js"]', /backslash/],
  ['a NUL', { runtime: 'node20', handler: 'index.handler', files: { 'a\u0000b.js': b64('x') } }, 'files["a\\u0000b.js"]', /control character/],
  ['an empty path', { runtime: 'node20', handler: 'index.handler', files: { '': b64('x') } }, 'files[""]', /the path is empty/],
  ['a doubled slash', { runtime: 'node20', handler: 'index.handler', files: { 'a//b.js': b64('x') } }, 'files["a//b.js"]', /empty name/],
  ['a trailing slash', { runtime: 'node20', handler: 'index.handler', files: { 'lib/': b64('x') } }, 'files["lib/"]', /empty name/],
  ['a long path', { runtime: 'node20', handler: 'index.handler', files: { [`${'a/'.repeat(600)}x.js`]: b64('x') } }, `files["${'a/'.repeat(50)}…"]`, /over 1024 bytes/],
  ['a long name', { runtime: 'node20', handler: 'index.handler', files: { [`${'n'.repeat(256)}.js`]: b64('x') } }, `files["${'n'.repeat(100)}…"]`, /over 255 bytes/],
  ['a file as a folder', { runtime: 'node20', handler: 'index.handler', files: { lib: b64('x'), 'lib/a.js': b64('x') } }, 'files["lib/a.js"]', /"lib" is a file, so it cannot also be a folder/],
];

for (const [title, body, fieldName, message] of refusals) {
  test(`refused, naming the field: ${title}`, (t) => {
    const error = refusal(t, body);
    t.is(error.code, 'LAMBDA_ERR_BAD_REQUEST');
    t.is(error.details.field, fieldName);
    t.regex(error.message, message);
  });
}

test('more files than the limit are refused before any is decoded', (t) => {
  const files = Object.fromEntries(Array.from({ length: MAX_FILES + 1 }, (_, i) => [`f${i}.js`, '!not base64!']));
  const error = refusal(t, { runtime: 'node20', handler: 'index.handler', files });
  t.is(error.details.field, 'files');
  t.regex(error.message, new RegExp(`"files" has ${MAX_FILES + 1} files, over the limit of ${MAX_FILES}`));
});

test('the decoded files are bounded together, to the byte', (t) => {
  const half = b64('x'.repeat(512));
  t.is(registrationFiles({ runtime: 'node20', handler: 'index.handler', files: { 'a.js': half, 'b.js': half } }, 'greet', LIMITS).length, 3);
  const error = refusal(t, { runtime: 'node20', handler: 'index.handler', files: { 'a.js': half, 'b.js': half, 'c.js': b64('x') } });
  t.is(error.code, 'LAMBDA_ERR_CODE_TOO_LARGE');
  t.is(error.details.field, 'files');
});

test('manifest keys nested past the limit are refused without recursion; a large manifest by its size', (t) => {
  let payload: unknown = 1;
  for (let i = 0; i < 100_000; i++) payload = [payload];
  const deep = refusal(t, { runtime: 'node20', handler: 'index.handler', schedules: [{ cron: '* * * * *', payload }], files: INDEX });
  t.is(deep.details.field, 'schedules');
  t.regex(deep.message, new RegExp(`"schedules" nests deeper than ${MAX_MANIFEST_DEPTH} levels`));
  const large = refusal(t, { runtime: 'node20', handler: 'index.handler', env: { BIG: 'x'.repeat(70 * 1024) }, files: INDEX });
  t.is(large.code, 'LAMBDA_ERR_MANIFEST_INVALID');
  t.regex(large.message, /over the limit of 65536 bytes/);
});

test('strict base64: canonical, padded text only', (t) => {
  t.deepEqual(strictBase64(''), Buffer.alloc(0));
  t.is(strictBase64('aGk=')?.toString(), 'hi');
  t.is(strictBase64('aGk'), undefined);
  t.is(strictBase64('aGl='), undefined, 'unused bits set: another text for the same bytes');
  t.is(strictBase64('aG=k'), undefined);
  t.is(strictBase64('aGk=\n'), undefined);
});

test('paths: nested relative ones pass; a file is found under another file only by whole names', (t) => {
  t.is(pathProblem('src/lib/a.js'), undefined);
  t.is(pathProblem('.github/x.yml'), undefined);
  t.is(pathProblem('.gitignore'), undefined);
  t.is(pathProblem('a..b'), undefined);
  t.deepEqual(fileUnderFile(['lib', 'lib/a.js']), { path: 'lib/a.js', file: 'lib' });
  t.is(fileUnderFile(['lib.js', 'lib/a.js', 'libs/b.js']), undefined);
  t.deepEqual(fileUnderFile(['a/b/c', 'a/b']), { path: 'a/b/c', file: 'a/b' });
});
