// End to end: what the async queue keeps is bounded. A flood of anonymous 256 KB async calls keeps at most the
// per-function byte bound (payloads, results, errors and dead letters together), refuses what would pass it with 429,
// still answers later calls and keeps the newest results; finished calls go after their retention age.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

const MI = 1024 * 1024;
const BOUND = 4 * MI;
const CALLS = 400;
const BODY = 'x'.repeat(256 * 1024);
// Answers at once; `/fail` is a 5xx, so the call is retried and then dead-lettered.
const HANDLER = "export const handler = async (event) => (event.rawPath === '/fail' ? { statusCode: 500, body: 'failing on purpose' } : 'ok');\n";

interface Invocation {
  id: string;
  status: string;
  result: string | null;
}

interface Listing {
  invocations: Invocation[];
  queue: { depth: number };
}

let flood: Lambda;
let aging: Lambda;

test.before(async () => {
  await requireDocker();
  flood = await startLambda({ LAMBDA_ASYNC_MAX_BYTES: '4Mi', LAMBDA_RETRY_BASE_MS: '50', LAMBDA_CELLS: '0' });
  aging = await startLambda({ LAMBDA_ASYNC_RETENTION: '2s', LAMBDA_CELLS: '0' });
  for (const server of [flood, aging]) {
    const push = await server.push('sink', fixture('echo'), { files: { 'index.mjs': HANDLER } });
    if (push.code !== 0) throw new Error(`could not deploy sink: ${push.stderr}`);
  }
});

test.after.always(async () => {
  await flood?.destroy();
  await aging?.destroy();
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** An anonymous async POST to the function's public URL: the status and, for a refusal, its error code. */
async function post(server: Lambda, pathname: string): Promise<{ status: number; id?: string; code?: string }> {
  const response = await server.fetch(pathname, { method: 'POST', host: 'sink.localhost', headers: { 'x-lambda-invocation-type': 'Event', 'content-type': 'text/plain' }, body: BODY });
  const body = (await response.json()) as { invocationId?: string; error?: { code?: string } };
  return { status: response.status, id: body.invocationId, code: body.error?.code };
}

async function listing(server: Lambda, status?: string): Promise<Listing> {
  const response = await server.api(`/api/v1/functions/sink/invocations${status ? `?status=${status}` : ''}`);
  return (await response.json()) as Listing;
}

/** What the database holds for `sink`, read from the file itself. */
function kept(server: Lambda): { bytes: number; rows: number; dead: number } {
  const db = new Database(path.join(server.dataDir, 'data', 'lambda.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare(
        `SELECT COUNT(*) AS rows, SUM(status = 'failed') AS dead,
           COALESCE(SUM(length(CAST(payload AS BLOB)) + COALESCE(length(CAST(result AS BLOB)), 0) + COALESCE(length(CAST(error AS BLOB)), 0)), 0) AS bytes
         FROM invocations WHERE function = 'sink'`,
      )
      .get() as { bytes: number; rows: number; dead: number | null };
    return { bytes: row.bytes, rows: row.rows, dead: row.dead ?? 0 };
  } finally {
    db.close();
  }
}

const fileBytes = (server: Lambda) =>
  ['lambda.db', 'lambda.db-wal'].reduce((sum, name) => {
    const file = path.join(server.dataDir, 'data', name);
    return sum + (fs.existsSync(file) ? fs.statSync(file).size : 0);
  }, 0);

test.serial('400 anonymous 256 KB async calls keep at most the byte bound; beyond it 429, later calls accepted, newest results kept', async (t) => {
  const answers: { status: number; id?: string; code?: string }[] = [];
  // A few dead letters first, so the flood must leave them be (they are bounded by a share of their own).
  for (let i = 0; i < 3; i++) answers.push(await post(flood, '/fail'));
  let most = 0;
  for (let i = 0; i < CALLS; i += 8) {
    answers.push(...(await Promise.all(Array.from({ length: Math.min(8, CALLS - i) }, () => post(flood, '/ok')))));
    if (i % 80 === 0) most = Math.max(most, kept(flood).bytes);
  }
  for (const answer of answers) {
    t.true(answer.status === 202 || (answer.status === 429 && answer.code === 'LAMBDA_ERR_QUEUE_FULL'), `answered ${answer.status} ${answer.code ?? ''}`);
  }
  t.true(answers.filter((answer) => answer.status === 202).length > 10, 'calls are accepted while there is room');
  await until('the queue to drain', async () => ((await listing(flood)).queue.depth === 0 ? true : undefined));

  const after = kept(flood);
  most = Math.max(most, after.bytes);
  t.true(most <= BOUND, `kept ${most} bytes, over the ${BOUND} bound`);
  t.true(after.rows < CALLS, `${after.rows} rows kept`);
  t.true(fileBytes(flood) < 4 * BOUND, `lambda.db is ${fileBytes(flood)} bytes`);
  t.log(`202: ${answers.filter((answer) => answer.status === 202).length}, 429: ${answers.filter((answer) => answer.status === 429).length}; kept at most ${most} bytes, ${after.rows} rows (${after.dead} dead letters); lambda.db ${fileBytes(flood)} bytes`);

  const later = await post(flood, '/ok');
  t.is(later.status, 202, 'a call after the queue drained is accepted');
  const done = await until('the later call to finish', async () => (await listing(flood)).invocations.find((call) => call.id === later.id && call.status === 'succeeded'));
  t.regex(done.result ?? '', /ok/, 'the newest result is readable');
  t.true(kept(flood).bytes <= BOUND);

  const dead = await until('dead letters', async () => {
    const failed = (await listing(flood, 'failed')).invocations;
    return failed.length > 0 ? failed : undefined;
  });
  t.true(dead.length >= 1, 'dead letters are kept for replay');
});

test.serial('finished calls go after LAMBDA_ASYNC_RETENTION; their payloads with them', async (t) => {
  const first = await post(aging, '/ok');
  t.is(first.status, 202);
  await until('the call to finish', async () => (await listing(aging)).invocations.find((call) => call.id === first.id && call.status === 'succeeded'));
  await until('the finished call to be pruned by age', async () => ((await listing(aging)).invocations.some((call) => call.id === first.id) ? undefined : true), 30_000);
  t.is(kept(aging).rows, 0);
});
