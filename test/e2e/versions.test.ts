// End to end: versions, rollback as a switch (no rebuild) recorded as a release, rollback under load with
// zero non-2xx answers, and a push after a rollback.
import test from 'ava';
import { example, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';
import { startLoad } from '../helpers/load.js';

let lambda: Lambda;

const greeting = (word: string) => ({ 'lambda.yaml': `runtime: node20\nhandler: index.handler\nenv:\n  GREETING: ${word}\n` });

interface Version {
  version: number;
  sha: string;
  message: string;
  author: string;
  live: boolean;
  imageKept: boolean;
}

async function versionsOf(name: string): Promise<Version[]> {
  const response = await lambda.api(`/api/v1/functions/${name}/versions`);
  if (response.status !== 200) throw new Error(`versions answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { versions: Version[] }).versions;
}

async function pushAll(name: string, words: string[]): Promise<string[]> {
  const shas: string[] = [];
  for (const word of words) {
    const push = await lambda.push(name, example('greet'), { files: greeting(word) });
    if (push.code !== 0) throw new Error(`push of ${name} (${word}) failed: ${push.stderr}`);
    shas.push(push.sha);
  }
  return shas;
}

const message = async (name: string) => ((await (await lambda.fetch(`/fn/${name}/?name=Ann`)).json()) as { message: string }).message;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
});

test.after.always(async () => {
  await lambda?.destroy();
});

test('versions lists every version; rollback switches to an earlier one without a build and is recorded as a release', async (t) => {
  const shas = await pushAll('vers', ['Hello', 'Howdy', 'Hey']);
  const listed = await versionsOf('vers');
  t.deepEqual(
    listed.map((v) => [v.version, v.sha, v.live, v.imageKept, v.message, v.author]),
    [
      [3, shas[2], true, true, 'deploy', 'test <test@lambda.local>'],
      [2, shas[1], false, true, 'deploy', 'test <test@lambda.local>'],
      [1, shas[0], false, true, 'deploy', 'test <test@lambda.local>'],
    ],
  );
  const text = await lambda.cli(['versions', 'vers']);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, new RegExp(`^\\* v3\\s+${shas[2]?.slice(0, 12)}\\s+\\S+Z\\s+kept\\s+test <test@lambda.local>\\s+deploy$`, 'm'));
  t.regex(text.stdout, /^ {2}v1\s/m);

  // No version given: the one before the live one.
  const back = await lambda.cli(['rollback', 'vers']);
  t.is(back.code, 0, back.stderr);
  t.regex(back.stdout, /Rolled back vers from v3 to v2/);
  t.notRegex(back.stdout + back.stderr, /Building|rebuilt/);
  t.is(await message('vers'), 'Howdy, Ann!');
  t.deepEqual((await versionsOf('vers')).filter((v) => v.live).map((v) => v.version), [2]);

  // By SHA prefix, through the API.
  const bySha = await lambda.api('/api/v1/functions/vers/rollback', { method: 'POST', body: JSON.stringify({ to: shas[0]?.slice(0, 7) }) });
  t.is(bySha.status, 200);
  t.like(await bySha.json(), { from: 2, to: 1, rebuilt: false });
  t.is(await message('vers'), 'Hello, Ann!');

  const releases = await lambda.cli(['releases', 'vers']);
  t.is(releases.code, 0, releases.stderr);
  const lines = releases.stdout.trim().split('\n');
  t.regex(lines[1] ?? '', /rollback\s+v2 -> v1\s+token LAMBDA_API_KEY \([0-9a-f]{16}\)\s+commit [0-9a-f]{12}$/);
  t.regex(lines[2] ?? '', /rollback\s+v3 -> v2\s+token LAMBDA_API_KEY/);
  t.regex(lines[3] ?? '', /deploy\s+v2 -> v3\s+git push\s+commit/);
  t.regex(lines[5] ?? '', /deploy\s+- -> v1\s+git push/);
  const json = (await (await lambda.api('/api/v1/functions/vers/releases')).json()) as { releases: { kind: string; fromVersion: number | null; toVersion: number; createdAt: string }[] };
  t.deepEqual(json.releases.map((r) => [r.kind, r.fromVersion, r.toVersion]), [['rollback', 2, 1], ['rollback', 3, 2], ['deploy', 2, 3], ['deploy', 1, 2], ['deploy', null, 1]]);
  t.false(Number.isNaN(Date.parse(json.releases[0]?.createdAt ?? '')));

  // A push after a rollback deploys as usual.
  const [fourth] = await pushAll('vers', ['Hiya']);
  t.is(await message('vers'), 'Hiya, Ann!');
  t.like((await versionsOf('vers'))[0], { version: 4, sha: fourth, live: true });
});

test('rollback refuses the live version, an unknown one and a malformed reference', async (t) => {
  await pushAll('refuse', ['Hello', 'Howdy']);
  const live = await lambda.cli(['rollback', 'refuse', 'v2']);
  t.is(live.code, 1);
  t.regex(live.stderr, /v2 of "refuse" is already live \(LAMBDA_ERR_VERSION_ALREADY_LIVE\)/);
  const missing = await lambda.cli(['rollback', 'refuse', 'v9']);
  t.is(missing.code, 4);
  t.regex(missing.stderr, /LAMBDA_ERR_VERSION_NOT_FOUND/);
  for (const bad of ['../../etc', 'v1; rm -rf /', 'zz', '%2e%2e']) {
    const response = await lambda.api('/api/v1/functions/refuse/rollback', { method: 'POST', body: JSON.stringify({ to: bad }) });
    t.is(response.status, 400, bad);
    t.is(((await response.json()) as { error: { code: string } }).error.code, 'LAMBDA_ERR_BAD_REQUEST');
  }
  const unknown = await lambda.cli(['rollback', 'no-such-fn']);
  t.is(unknown.code, 4);
  t.regex(unknown.stderr, /LAMBDA_ERR_FUNCTION_NOT_FOUND/);
  const badName = await lambda.api('/api/v1/functions/..%2Fetc/versions');
  t.is(badName.status, 400);
  t.is(await message('refuse'), 'Howdy, Ann!');

  // Streamed as NDJSON, like a deploy: progress lines, then the result (a refusal carries the status it would have had).
  const ndjson = async (to: string) => {
    const response = await lambda.api('/api/v1/functions/refuse/rollback', { method: 'POST', headers: { accept: 'application/x-ndjson' }, body: JSON.stringify({ to }) });
    t.is(response.status, 200);
    return (await response.text()).trim().split('\n').map((line) => JSON.parse(line) as { type: string; ok?: boolean; status?: number; text?: string });
  };
  const refused = await ndjson('v9');
  t.like(refused.at(-1), { type: 'result', ok: false, status: 404 });
  const streamed = await ndjson('v1');
  t.true(streamed.some((line) => line.type === 'step' && /Starting refuse v1/.test(line.text ?? '')));
  t.like(streamed.at(-1), { type: 'result', ok: true });
  t.is(await message('refuse'), 'Hello, Ann!');
});

test('rollback under load: 10 clients calling throughout get no answer other than 2xx', async (t) => {
  await pushAll('loaded', ['One', 'Two']);
  const load = startLoad(lambda, '/fn/loaded/?name=x', 10);
  try {
    await load.until(/Two, x!/);
    const first = await lambda.api('/api/v1/functions/loaded/rollback', { method: 'POST', body: '{}' });
    t.is(first.status, 200);
    await load.until(/One, x!/);
    const second = await lambda.api('/api/v1/functions/loaded/rollback', { method: 'POST', body: '{"to":"v2"}' });
    t.is(second.status, 200);
    const before = load.count();
    await load.until(/Two, x!/);
    // Some more calls after the second switch, so both switches happened under traffic.
    const deadline = Date.now() + 10_000;
    while (load.count() < before + 50 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    const answers = await load.stop();
    const failures = answers.filter((answer) => answer.status < 200 || answer.status > 299);
    t.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${answers.length} answers were not 2xx`);
    t.true(answers.length > 50);
    t.true(answers.some((a) => a.body.includes('One, x!')) && answers.some((a) => a.body.includes('Two, x!')));
  }
  t.is(await message('loaded'), 'Two, Ann!');
});
