// End to end: a push with a bad manifest or a failing build is rejected, and the live version keeps serving.
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { example, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
  const live = await lambda.push('keeper', example('greet'));
  if (live.code !== 0) throw new Error(`could not deploy the live version: ${live.stderr}`);
});

test.after.always(async () => {
  await lambda?.destroy();
});

async function stillServing(t: ExecutionContext) {
  const response = await lambda.fetch('/fn/keeper/?name=Still');
  t.is(response.status, 200);
  t.deepEqual(await response.json(), { message: 'Hello, Still!' });
  t.is((await lambda.containers('keeper')).length, 1, 'no half-deployed or orphan container');
  const listed = (await (await lambda.api('/api/v1/functions/keeper')).json()) as { live: { version: number } };
  t.is(listed.live.version, 1);
}

const badManifest = test.macro({
  async exec(t, manifest: string | null, expected: RegExp) {
    const files: Record<string, string> = {};
    if (manifest !== null) files['lambda.yaml'] = manifest;
    const dir = manifest === null ? fixture('missing-export') : example('greet');
    const push = await lambda.push('keeper', dir, { files: manifest === null ? {} : files });
    // The missing-manifest case pushes a tree without lambda.yaml.
    t.not(push.code, 0);
    t.regex(push.stderr, expected);
    t.regex(push.stderr, /remote: {2}! {5}\S/);
    t.notRegex(push.stderr, /Building image/);
    await stillServing(t);
  },
  title: (label = '') => `a push is rejected when lambda.yaml is ${label}`,
});

test.serial('not YAML', badManifest, 'runtime: node20\nhandler: [index.handler\n', /line \d+: not valid YAML.*LAMBDA_ERR_MANIFEST_INVALID/s);
test.serial('using an unknown key', badManifest, 'runtime: node20\nhandler: index.handler\nmemroy: 128Mi\n', /lambda\.yaml: line 3: unknown key "memroy" \(did you mean "memory"\?\)/);
test.serial('of the wrong type', badManifest, 'runtime: node20\nhandler: index.handler\nconcurrency: lots\n', /line 3: concurrency: expected a whole number/);
test.serial('with a bad duration', badManifest, 'runtime: node20\nhandler: index.handler\ntimeout: ten\n', /line 3: timeout: expected a duration/);

test.serial('a push without lambda.yaml is rejected', async (t) => {
  const push = await lambda.push('keeper', fixture('no-manifest'));
  t.not(push.code, 0);
  t.regex(push.stderr, /lambda\.yaml is missing.*LAMBDA_ERR_MANIFEST_MISSING/);
  await stillServing(t);
});

const badBuild = test.macro({
  async exec(t, fixtureName: string, expected: RegExp) {
    const push = await lambda.push('keeper', fixture(fixtureName));
    t.not(push.code, 0);
    t.regex(push.stderr, /LAMBDA_ERR_HEALTHCHECK_FAILED/);
    t.regex(push.stderr, expected);
    await stillServing(t);
  },
  title: (label = '') => `a push whose function ${label} is rejected with its error shown`,
});

test.serial('has a syntax error', badBuild, 'syntax-error', /SyntaxError/);
test.serial('lacks the handler export', badBuild, 'missing-export', /does not export a function named "handler"/);

test.serial('a rejected first push leaves no log folder, however many new names fail', async (t) => {
  const names = ['never-live-a', 'never-live-b', 'never-live-c'];
  const pushes = [
    await lambda.push(names[0], fixture('syntax-error')),
    await lambda.push(names[1], example('greet'), { files: { 'lambda.yaml': 'runtime: node20\nhandler: index.handler\nmemroy: 128Mi\n' } }),
    await lambda.push(names[2], fixture('missing-export')),
  ];
  for (const push of pushes) t.not(push.code, 0, push.stderr);
  const logs = path.join(lambda.dataDir, 'data', 'logs');
  for (const name of names) {
    t.false(fs.existsSync(path.join(logs, name)), `data/logs/${name} was left`);
    t.is((await lambda.api(`/api/v1/functions/${name}`)).status, 404);
  }
  // The live function's kept output is untouched by its own rejected pushes.
  t.true(fs.existsSync(path.join(logs, 'keeper', 'builds')));
});
