// End to end: with LAMBDA_KEEP_IMAGES=1 older images are pruned; a rollback to a pruned version rebuilds it
// from its commit (kept by a ref even though every push here force-pushes unrelated history), saying so.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { example, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';
import { eventually } from '../helpers/load.js';

const run = promisify(execFile);
let lambda: Lambda;

const greeting = (word: string) => ({ 'lambda.yaml': `runtime: node20\nhandler: index.handler\nenv:\n  GREETING: ${word}\n` });

async function versionsOf(name: string): Promise<{ version: number; live: boolean; imageKept: boolean }[]> {
  return ((await (await lambda.api(`/api/v1/functions/${name}/versions`)).json()) as { versions: { version: number; live: boolean; imageKept: boolean }[] }).versions;
}

const imageExists = (tag: string) =>
  run('docker', ['image', 'inspect', tag]).then(
    () => true,
    () => false,
  );

test.before(async () => {
  await requireDocker();
  lambda = await startLambda({ LAMBDA_KEEP_IMAGES: '1' });
});

test.after.always(async () => {
  await lambda?.destroy();
});

test('older images are pruned; a rollback to a pruned version rebuilds it from its commit and serves it', async (t) => {
  const first = await lambda.push('pruned', example('greet'), { files: greeting('Old') });
  t.is(first.code, 0, first.stderr);
  const second = await lambda.push('pruned', example('greet'), { files: greeting('New') });
  t.is(second.code, 0, second.stderr);
  const oldImage = `lambda-fn/pruned:${first.sha.slice(0, 12)}`;

  t.true(await eventually(async () => !(await imageExists(oldImage))), 'the image of v1 is removed');
  t.deepEqual((await versionsOf('pruned')).map((v) => [v.version, v.live, v.imageKept]), [
    [2, true, true],
    [1, false, false],
  ]);
  const listing = await lambda.cli(['versions', 'pruned']);
  t.regex(listing.stdout, /^ {2}v1\s+\S+\s+\S+\s+pruned\s/m);
  // The push of v2 replaced main with unrelated history; a ref keeps v1's commit.
  const { stdout: ref } = await run('git', ['--git-dir', path.join(lambda.dataDir, 'data', 'repos', 'pruned.git'), 'rev-parse', 'refs/lambda/v1']);
  t.is(ref.trim(), first.sha);

  const back = await lambda.cli(['rollback', 'pruned', 'v1']);
  t.is(back.code, 0, back.stderr);
  t.regex(back.stderr, /The image of v1 was pruned \(LAMBDA_KEEP_IMAGES\): rebuilding it from commit [0-9a-f]{12}/);
  t.regex(back.stdout, /Building image lambda-fn\/pruned:/);
  t.regex(back.stdout, /v1 was rebuilt from its commit/);
  t.is(((await (await lambda.fetch('/fn/pruned/?name=Ann')).json()) as { message: string }).message, 'Old, Ann!');
  t.true(await imageExists(oldImage));
  t.deepEqual((await versionsOf('pruned')).map((v) => [v.version, v.live, v.imageKept]), [
    [2, false, true],
    [1, true, true],
  ]);
  const releases = (await (await lambda.api('/api/v1/functions/pruned/releases')).json()) as { releases: { kind: string; detail: string }[] };
  t.like(releases.releases[0], { kind: 'rollback' });
  t.regex(releases.releases[0]?.detail ?? '', /rebuilt from its commit/);

  // The next push prunes again: the newest (v3) and nothing else but the live one are kept.
  const third = await lambda.push('pruned', example('greet'), { files: greeting('Newest') });
  t.is(third.code, 0, third.stderr);
  t.true(await eventually(async () => (await versionsOf('pruned')).filter((v) => v.imageKept).length === 1), 'only v3 keeps its image');
  t.deepEqual((await versionsOf('pruned')).map((v) => [v.version, v.live, v.imageKept]), [
    [3, true, true],
    [2, false, false],
    [1, false, false],
  ]);
});
