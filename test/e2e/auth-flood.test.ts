// End to end: a flood of wrong API keys with LAMBDA_API_KEY set (a scrypt-hashed key). After a few wrong keys a client
// address gets 429s with Retry-After, with nothing hashed, on the REST API, git over HTTP and an `auth: key` function;
// the right keys (a generated token, the seeded key) still work from that same address. Rotating the source address
// (127.x.y.z) does not win more guesses, a server-wide budget caps the slow checks, and a weak LAMBDA_API_KEY is refused.
import fs from 'node:fs';
import http from 'node:http';
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

test.serial('200 wrong keys: a few 401s, then 429s with Retry-After and no hashing; the right keys still work', async (t) => {
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

/** GET `path` from the source address `from` (any 127.x.y.z is this machine), with `authorization`. */
function from(base: string, from: string, authorization: string): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL('/api/v1/functions', base);
    const request = http.get({ host: url.hostname, port: url.port, path: url.pathname, localAddress: from, headers: { authorization }, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
    });
    request.on('timeout', () => request.destroy(new Error('no answer within 30 s')));
    request.on('error', reject);
  });
}

/** 60 wrong words, each from its own loopback address (127.0.x.y, none of them used before in this file). */
async function rotating(base: string, prefix: number): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  for (let i = 0; i < 60; i++) {
    const answer = await from(base, `127.${prefix}.${Math.floor(i / 250)}.${(i % 250) + 1}`, `Bearer guess-${prefix}-${i}`);
    statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
  }
  return statuses;
}

test.serial('wrong keys from rotating loopback addresses count as one client: 429 after the allowance', async (t) => {
  const statuses = await rotating(lambda.base, 7);
  t.log(`statuses ${JSON.stringify(statuses)}`);
  t.true((statuses[401] ?? 0) <= FAILURES, `at most one allowance of 401s: ${JSON.stringify(statuses)}`);
  t.true((statuses[429] ?? 0) >= 60 - FAILURES);
});

test.serial('a server-wide budget of slow checks: 429 once it is spent, whatever the client; generated keys still work', async (t) => {
  const GLOBAL = 4;
  // Each client may guess far more than the budget: only the server-wide budget can stop this flood.
  const other = await startLambda({ LAMBDA_AUTH_FAILURES: '1000', LAMBDA_AUTH_FAILURE_WINDOW: '10m', LAMBDA_AUTH_SLOW_CHECKS: String(GLOBAL) });
  try {
    const created = await other.api('/api/v1/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"good"}' });
    const generated = ((await created.json()) as { key: string }).key;
    const statuses = await rotating(other.base, 9);
    t.log(`statuses ${JSON.stringify(statuses)}`);
    t.true((statuses[401] ?? 0) <= GLOBAL, `at most the server-wide budget of 401s: ${JSON.stringify(statuses)}`);
    t.true((statuses[429] ?? 0) >= 60 - GLOBAL);
    const limited = await from(other.base, '127.0.0.1', 'Bearer another-guess');
    t.is(limited.status, 429);
    t.regex(limited.retryAfter ?? '', /^[1-9]\d*$/);
    // A generated key never costs a slow check, so it stays checkable; so does the key the server started with.
    t.is((await from(other.base, '127.0.0.1', `Bearer ${generated}`)).status, 200);
    t.is((await from(other.base, '127.0.0.1', `Bearer ${other.key}`)).status, 200);
  } finally {
    await other.destroy();
  }
});

test.serial('a LAMBDA_API_KEY too weak to be a key is refused at start, saying how to make one', async (t) => {
  // A server that did start (the old behaviour) is stopped again, so the test fails without leaving it running.
  const error = await startLambda({ LAMBDA_API_KEY: 'sunshine' }).then(
    async (started) => void (await started.destroy()),
    (failure: Error) => failure,
  );
  t.truthy(error, 'the server refused to start');
  t.regex(error?.message ?? '', /LAMBDA_API_KEY/);
  t.regex(error?.message ?? '', /at least 16 characters/);
  t.regex(error?.message ?? '', /openssl rand/);
});
