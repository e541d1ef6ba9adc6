// End to end: a flood of wrong API keys with LAMBDA_API_KEY set (a scrypt-hashed key). After a few wrong keys a client
// address gets 429s with Retry-After, with nothing hashed, on the REST API, git over HTTP and an `auth: key` function;
// the right keys (a generated token, the seeded key) still work from that same address.
import fs from 'node:fs';
import test from 'ava';
import { command, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;
let token: string;

const FAILURES = 5;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda({ LAMBDA_AUTH_FAILURES: String(FAILURES), LAMBDA_AUTH_FAILURE_WINDOW: '10m' });
  const push = await lambda.push('locked', fixture('echo'), { files: { 'lambda.yaml': 'runtime: node20\nhandler: index.handler\nauth: key\n' } });
  if (push.code !== 0) throw new Error(`push failed: ${push.stderr}`);
  const created = await lambda.api('/api/v1/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'good' }) });
  token = ((await created.json()) as { key: string }).key;
});

test.after.always(async () => {
  await lambda?.destroy();
});

/** User plus system CPU time of the server process so far, in ms (/proc/<pid>/stat, clock ticks of 10 ms). */
function serverCpuMs(): number {
  const stat = fs.readFileSync(`/proc/${lambda.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

test('200 wrong keys: a few 401s, then 429s with Retry-After and no hashing; the right keys still work', async (t) => {
  const cpuBefore = serverCpuMs();
  const statuses: Record<number, number> = {};
  let limited: Response | undefined;
  // Eight at a time, as a flood would come; bounded by its count.
  for (let round = 0; round < 25; round++) {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => fetch(`${lambda.base}/api/v1/functions`, { headers: { authorization: `Bearer wrong-key-${round}-${i}` } })),
    );
    for (const answer of answers) {
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      if (answer.status === 429) limited = answer;
      else await answer.text();
    }
  }
  const cpuMs = serverCpuMs() - cpuBefore;
  t.log(`server CPU for 200 wrong keys: ${cpuMs} ms; statuses ${JSON.stringify(statuses)}`);

  t.deepEqual(Object.keys(statuses).sort(), ['401', '429']);
  t.true((statuses[401] ?? 0) <= FAILURES, `at most the allowance of 401s: ${JSON.stringify(statuses)}`);
  t.true((statuses[429] ?? 0) >= 200 - FAILURES);
  t.truthy(limited);
  t.regex(limited?.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  t.is(((await limited?.json()) as { error: { code: string } }).error.code, 'LAMBDA_ERR_AUTH_RATE_LIMITED');

  // The same address, with the right keys: a generated token and the seeded LAMBDA_API_KEY.
  t.is((await fetch(`${lambda.base}/api/v1/functions`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  t.is((await lambda.api('/api/v1/functions')).status, 200);

  // Git over HTTP is limited too (a wrong password gets 429), and the right key still pushes.
  const wrong = await command('git', ['ls-remote', `http://lambda:wrong-password@127.0.0.1:${lambda.port}/git/locked.git`]);
  t.not(wrong.code, 0);
  t.regex(wrong.stderr, /429/);
  const ls = await command('git', ['ls-remote', `http://lambda:${token}@127.0.0.1:${lambda.port}/git/locked.git`]);
  t.is(ls.code, 0, ls.stderr);

  // And an `auth: key` function: 429 for a wrong key, served with the right one.
  const refused = await fetch(`${lambda.base}/fn/locked/`, { headers: { authorization: 'Bearer still-wrong' } });
  t.is(refused.status, 429);
  t.truthy(refused.headers.get('retry-after'));
  t.is((await fetch(`${lambda.base}/fn/locked/`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  // No key at all is not a guess: a plain 401, not a 429.
  t.is((await fetch(`${lambda.base}/fn/locked/`)).status, 401);
});
