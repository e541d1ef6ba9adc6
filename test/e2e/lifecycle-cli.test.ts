// End to end: `lambda delete` removes everything of a function (and asks for its name without --yes),
// `lambda validate` gives the server's own errors, `lambda deploy` takes its name from lambda.yaml or the folder.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import test from 'ava';
import { run as runCli } from '../../cli/main.js';
import { example, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';
import { eventually } from '../helpers/load.js';

const exec = promisify(execFile);
let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
});

test.after.always(async () => {
  await lambda?.destroy();
});

/** The CLI in-process with `typed` on stdin, as a person answering the question. */
async function cliTyping(args: string[], typed: string): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from([typed]),
    env: { LAMBDA_URL: lambda.base, LAMBDA_API_KEY: lambda.key, LAMBDA_CONFIG: path.join(lambda.dataDir, 'cli.json') },
  });
  return { status, stdout, stderr };
}

function scratch(name: string, files: Record<string, string>): string {
  const dir = path.join(fs.mkdtempSync(path.join(lambda.dataDir, 'work-')), name);
  fs.mkdirSync(dir);
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
  return dir;
}

test.serial('delete asks for the name, then removes instances, versions, images, env, logs and the repository', async (t) => {
  for (const word of ['One', 'Two']) {
    const push = await lambda.push('doomed', example('greet'), { files: { 'lambda.yaml': `runtime: node20\nhandler: index.handler\nenv:\n  GREETING: ${word}\n` } });
    t.is(push.code, 0, push.stderr);
  }
  t.is((await lambda.cli(['env', 'set', 'doomed', 'SECRET=x'])).code, 0);
  t.is((await lambda.fetch('/fn/doomed/')).status, 200);
  const images = async () => (await exec('docker', ['images', '-q', 'lambda-fn/doomed'])).stdout.trim().split('\n').filter(Boolean);
  t.true((await images()).length >= 1);

  // Without --yes: no input, or the wrong name, deletes nothing.
  const noInput = await lambda.cli(['delete', 'doomed']);
  t.is(noInput.code, 2);
  t.regex(noInput.stderr, /Type its name to confirm/);
  t.regex(noInput.stderr, /not deleted/);
  const wrong = await cliTyping(['delete', 'doomed'], 'doomd\n');
  t.is(wrong.status, 2);
  t.is((await lambda.fetch('/fn/doomed/')).status, 200);

  const typed = await cliTyping(['delete', 'doomed'], 'doomed\n');
  t.is(typed.status, 0, typed.stderr);
  t.regex(typed.stdout, /Deleted doomed \(2 versions, 2 images\)/);
  t.is((await lambda.fetch('/fn/doomed/')).status, 404);
  t.is((await lambda.api('/api/v1/functions/doomed/versions')).status, 404);
  t.is((await lambda.api('/api/v1/functions/doomed/env')).status, 404);
  t.is((await lambda.api('/api/v1/functions/doomed/logs')).status, 404);
  t.deepEqual(await images(), []);
  t.true(await eventually(async () => (await lambda.containers('doomed')).length === 0, 15_000));
  t.false(fs.existsSync(path.join(lambda.dataDir, 'data', 'repos', 'doomed.git')));
  t.false(fs.existsSync(path.join(lambda.dataDir, 'data', 'logs', 'doomed')));
  const list = await lambda.cli(['list', '--json']);
  t.false(list.stdout.includes('"doomed"'));

  // Deleted means gone: the name starts again from v1, with no env left.
  const again = await lambda.push('doomed', example('greet'));
  t.is(again.code, 0, again.stderr);
  const versions = (await (await lambda.api('/api/v1/functions/doomed/versions')).json()) as { versions: { version: number }[] };
  t.deepEqual(versions.versions.map((v) => v.version), [1]);
  t.deepEqual(((await (await lambda.api('/api/v1/functions/doomed/env?reveal=1')).json()) as { vars: object }).vars, {});

  const yes = await lambda.cli(['delete', 'doomed', '--yes']);
  t.is(yes.code, 0, yes.stderr);
  t.is((await lambda.fetch('/fn/doomed/')).status, 404);
  const missing = await lambda.cli(['delete', 'doomed', '--yes']);
  t.is(missing.code, 4);
  t.regex(missing.stderr, /LAMBDA_ERR_FUNCTION_NOT_FOUND/);
  const hostile = await lambda.api('/api/v1/functions/..%2F..%2Fetc', { method: 'DELETE' });
  t.is(hostile.status, 400);
});

test('validate prints the server\'s own errors, key and line, and exits non-zero; a valid manifest passes', async (t) => {
  const manifest = 'runtime: node20\nhandler: index.handler\ntimeout: forever\nenv:\n  NODE_OPTIONS: --inspect\nbogus: 1\n';
  const dir = scratch('invalid-fn', { 'lambda.yaml': manifest, 'index.js': 'export const handler = async () => 1;\n' });
  const local = await lambda.cli(['validate', dir]);
  t.is(local.code, 2);
  const problems = ['line 3: timeout: expected a duration', 'line 5: env.NODE_OPTIONS: NODE_OPTIONS, PATH, LD_* and PYTHON* change how the runtime starts', 'lambda.yaml: line 6: unknown key "bogus" (allowed: '];
  for (const problem of problems) t.true(local.stderr.includes(problem), `${problem}\n${local.stderr}`);
  t.regex(local.stderr, /\(LAMBDA_ERR_MANIFEST_INVALID\)/);
  // The server says the same when the same manifest is pushed.
  const push = await lambda.push('invalid-fn', dir);
  t.not(push.code, 0);
  for (const problem of problems) t.true(push.stderr.includes(problem), `${problem}\n${push.stderr}`);

  const notYaml = await lambda.cli(['validate', scratch('broken', { 'lambda.yaml': 'runtime: [node20\n' })]);
  t.is(notYaml.code, 2);
  t.regex(notYaml.stderr, /line \d+: not valid YAML/);
  const none = await lambda.cli(['validate', scratch('empty', {})]);
  t.is(none.code, 2);
  t.regex(none.stderr, /LAMBDA_ERR_MANIFEST_MISSING/);
  const badName = await lambda.cli(['validate', scratch('badname', { 'lambda.yaml': 'name: Not_A_Name\nruntime: node20\nhandler: index.handler\n' })]);
  t.is(badName.code, 2);
  t.regex(badName.stderr, /line 1: name: expected a function name/);

  const good = await lambda.cli(['validate', example('greet')]);
  t.is(good.code, 0, good.stderr);
  t.regex(good.stdout, /lambda\.yaml is valid \(runtime node20, handler index\.handler\)/);
});

test('deploy takes the name from lambda.yaml\'s name:, else from the folder; --name wins', async (t) => {
  const code = fs.readFileSync(path.join(example('greet'), 'index.js'), 'utf8');
  const named = scratch('folder-name', { 'lambda.yaml': 'name: from-manifest\nruntime: node20\nhandler: index.handler\n', 'index.js': code, 'package.json': '{"type":"module"}' });
  const byManifest = await lambda.cli(['deploy', named]);
  t.is(byManifest.code, 0, byManifest.stderr);
  t.is((await lambda.fetch('/fn/from-manifest/?name=A')).status, 200);
  t.is((await lambda.fetch('/fn/folder-name/')).status, 404);

  const plain = scratch('by-folder', { 'lambda.yaml': 'runtime: node20\nhandler: index.handler\n', 'index.js': code, 'package.json': '{"type":"module"}' });
  const byFolder = await lambda.cli(['deploy', plain]);
  t.is(byFolder.code, 0, byFolder.stderr);
  t.is((await lambda.fetch('/fn/by-folder/?name=A')).status, 200);

  const flag = await lambda.cli(['deploy', named, '--name', 'by-flag']);
  t.is(flag.code, 0, flag.stderr);
  t.is((await lambda.fetch('/fn/by-flag/?name=A')).status, 200);

  // A deploy through the API records the token as who made it.
  const releases = (await (await lambda.api('/api/v1/functions/by-flag/releases')).json()) as { releases: { kind: string; who: string }[] };
  t.regex(releases.releases[0]?.who ?? '', /^token LAMBDA_API_KEY \([0-9a-f]{16}\)$/);
});
