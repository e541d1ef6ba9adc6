// End to end: what a function writes, and START/END/REPORT per invocation, are kept per function and survive a
// redeploy, scale to zero and server restarts; --version, --build and --follow; a flooding function stays bounded
// on disk while another function keeps answering.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import test from 'ava';
import { ROOT, command, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

interface Entry {
  time: string;
  stream: string;
  instance: string;
  version: number | null;
  text: string;
}

const FILE_BYTES = 256 * 1024;
const FILES = 2;
let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda({ LAMBDA_LOG_FILE_SIZE: '256Ki', LAMBDA_LOG_FILES: String(FILES) });
  const push = await lambda.push('chatty', fixture('logger'));
  if (push.code !== 0) throw new Error(`could not deploy chatty: ${push.stderr}`);
});

test.after.always(async () => {
  await lambda?.destroy();
});

async function logs(name: string, query = ''): Promise<Entry[]> {
  const response = await lambda.api(`/api/v1/functions/${name}/logs${query}`);
  if (response.status !== 200) throw new Error(`logs answered ${response.status}: ${await response.text()}`);
  return (await response.text()).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Entry);
}

async function waitForLogs(name: string, predicate: (entries: Entry[]) => boolean, query = ''): Promise<Entry[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const entries = await logs(name, query);
    if (predicate(entries)) return entries;
    if (Date.now() > deadline) throw new Error(`not in the log in time; it ends with:\n${entries.slice(-8).map((e) => e.text.slice(0, 160)).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function hit(name: string, mark: string, pathname = '/'): Promise<number> {
  const response = await lambda.fetch(`/fn/${name}${pathname}?mark=${mark}`);
  await response.arrayBuffer();
  return response.status;
}

const has = (text: string) => (entries: Entry[]) => entries.some((entry) => entry.text === text);

/** The invocation that printed `text`: its START, the line, its END and REPORT. */
function invocation(entries: Entry[], text: string) {
  const at = entries.findIndex((entry) => entry.text === text);
  const line = entries[at] as Entry;
  const start = entries.slice(0, at).reverse().find((entry) => entry.instance === line.instance && entry.text.startsWith('START RequestId: '));
  const id = /^START RequestId: (\S+)/.exec(start?.text ?? '')?.[1] ?? 'missing';
  return {
    line,
    start,
    end: entries.find((entry) => entry.text === `END RequestId: ${id}`),
    report: entries.find((entry) => entry.text.startsWith(`REPORT RequestId: ${id}\t`)),
  };
}

test.serial("a request's output and START/END/REPORT are kept with the version and instance", async (t) => {
  t.is(await hit('chatty', 'm1'), 200);
  const entries = await waitForLogs('chatty', (all) => has('hello m1')(all) && all.some((entry) => entry.text.startsWith('REPORT')));
  const { line, start, end, report } = invocation(entries, 'hello m1');
  t.like(line, { stream: 'out', version: 1 });
  t.regex(line.instance, /^[0-9a-f]{12}$/);
  t.regex(start?.text ?? '', / Version: 1$/);
  t.truthy(end);
  t.regex(report?.text ?? '', /\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: \d+ MB\t(Init Duration: [\d.]+ ms\t)?Status: success$/);
  t.true([start, end, report].every((entry) => entry?.stream === 'platform' && entry.instance === line.instance && entry.version === 1));
  t.true(entries.some((entry) => entry.text === 'logger loaded'), 'output while the handler loads is kept too');

  t.is(await hit('chatty', 'e1', '/err'), 200);
  await waitForLogs('chatty', (all) => all.some((entry) => entry.text === 'to stderr e1' && entry.stream === 'err'));
  const cli = await lambda.cli(['logs', 'chatty']);
  t.is(cli.code, 0, cli.stderr);
  t.regex(cli.stdout, new RegExp(`^\\S+Z v1 ${line.instance.slice(0, 6)} \\| hello m1$`, 'm'));
  t.regex(cli.stdout, /^\S+Z v1 [0-9a-f]{6} ! to stderr e1$/m);
});

test.serial("--build shows the last deploy's output", async (t) => {
  const cli = await lambda.cli(['logs', 'chatty', '--build']);
  t.is(cli.code, 0, cli.stderr);
  t.regex(cli.stdout, /^\S+Z build [0-9a-f]{12} \| -----> Building image lambda-fn\/chatty:[0-9a-f]{12} \.\.\.$/m);
  t.regex(cli.stdout, /\| -----> Starting chatty v1 /);
  t.regex(cli.stdout, /\| -----> Live at http:\/\/chatty\./);
});

test.serial('--follow prints a line written after it started', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli', 'main.ts'), 'logs', 'chatty', '--follow', '-n', '1'], {
    cwd: ROOT,
    env: { ...process.env, LAMBDA_URL: lambda.base, LAMBDA_API_KEY: lambda.key, LAMBDA_CONFIG: path.join(lambda.dataDir, 'cli.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const seen = async (pattern: RegExp) => {
    for (let i = 0; i < 300 && !pattern.test(out); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    return pattern.test(out);
  };
  try {
    t.true(await seen(/\n/), `the last kept line first: ${out}`);
    t.is(await hit('chatty', 'followed'), 200);
    t.true(await seen(/\| hello followed\n/), out);
    t.true(await seen(/\| REPORT RequestId: /), out);
    t.is(child.exitCode, null, 'still following');
  } finally {
    child.kill('SIGTERM');
  }
});

test.serial('a redeploy keeps what was kept; --version shows one version', async (t) => {
  const push = await lambda.push('chatty', fixture('logger'), { files: { 'v2.txt': 'two\n' } });
  t.is(push.code, 0, push.stderr);
  t.is(await hit('chatty', 'm2'), 200);
  await waitForLogs('chatty', has('hello m2'));
  const v1 = await logs('chatty', '?version=v1');
  const v2 = await logs('chatty', '?version=2');
  t.true(has('hello m1')(v1));
  t.false(has('hello m2')(v1));
  t.true(v1.every((entry) => entry.version === 1));
  t.true(has('hello m2')(v2));
  t.true(v2.every((entry) => entry.version === 2));
  t.truthy(invocation(v1, 'hello m1').report, "v1's last REPORT arrived before its instance was retired");
  const cli = await lambda.cli(['logs', 'chatty', '--version', 'v1', '--lines', '0']);
  t.regex(cli.stdout, /\| hello m1$/m);
  t.notRegex(cli.stdout, /hello m2/);
  const missing = await lambda.cli(['logs', 'chatty', '--version', 'v9']);
  t.is(missing.code, 4);
  t.regex(missing.stderr, /LAMBDA_ERR_VERSION_NOT_FOUND/);
});

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test.serial(`the log survives a server restart after ${signal}, and the next lines join it`, async (t) => {
    await lambda.restart(signal);
    const kept = await logs('chatty');
    t.true(has('hello m1')(kept) && has('hello m2')(kept));
    t.is(await hit('chatty', `after-${signal}`), 200);
    const entries = await waitForLogs('chatty', has(`hello after-${signal}`));
    t.truthy(invocation(entries, `hello after-${signal}`).report);
    t.is(invocation(entries, `hello after-${signal}`).line.version, 2);
  });
}

test.serial('the log survives scale to zero; the next cold start reports its Init Duration', async (t) => {
  const push = await lambda.push('sleepy', fixture('logger'), { files: { 'lambda.yaml': 'runtime: node20\nhandler: index.handler\nidleTimeout: 500ms\n' } });
  t.is(push.code, 0, push.stderr);
  t.is(await hit('sleepy', 'z1'), 200);
  const first = invocation(await waitForLogs('sleepy', has('hello z1')), 'hello z1');
  t.truthy(first.report);
  // The instance is known by its id (it may have been a pre-started cell, labelled without the function's name).
  const running = async () => (await command('docker', ['ps', '-q', '--filter', `label=lambda.instance=${first.line.instance}`])).stdout.trim();
  for (let i = 0; i < 200 && (await running()) !== ''; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  t.is(await running(), '', 'scaled to zero');
  t.is(await hit('sleepy', 'z2'), 200);
  const entries = await waitForLogs('sleepy', (all) => has('hello z2')(all) && invocation(all, 'hello z2').report !== undefined);
  t.not(invocation(entries, 'hello z2').line.instance, first.line.instance);
  t.regex(invocation(entries, 'hello z2').report?.text ?? '', /\tInit Duration: [\d.]+ ms\t/);
  t.true(has('hello z1')(entries));
});

test.serial("a function flooding its output stays within its log's size, and another function keeps answering", async (t) => {
  const push = await lambda.push('flood', fixture('logger'));
  t.is(push.code, 0, push.stderr);
  const flooding = lambda.fetch('/fn/flood/flood?ms=4000').then(async (response) => ({ status: response.status, body: await response.text() }));
  let done = false;
  void flooding.finally(() => (done = true));
  const statuses: number[] = [];
  while (!done) {
    statuses.push(await hit('chatty', `during-${statuses.length}`));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const flood = await flooding;
  t.is(flood.status, 200, flood.body);
  t.true(statuses.length > 10, `${statuses.length} requests during the flood`);
  t.true(statuses.every((status) => status === 200), JSON.stringify(statuses));
  const written = (JSON.parse(flood.body) as { count: number }).count;
  const entries = await waitForLogs('flood', (all) => all.some((entry) => /^\[lambda\] \d+ lines dropped/.test(entry.text)), '?tail=1000');
  t.true(entries.some((entry) => entry.text.startsWith('flood ')));
  const dir = path.join(lambda.dataDir, 'data', 'logs', 'flood');
  const bytes = fs.readdirSync(dir).filter((name) => name.startsWith('function.log')).reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0);
  t.true(bytes <= FILE_BYTES * FILES, `${bytes} bytes on disk for ${written} lines written`);
  t.true(written * 200 > FILE_BYTES * FILES * 4, `the flood wrote ${written} lines, far more than is kept`);
  // The other function's lines are all there.
  await waitForLogs('chatty', has(`hello during-${statuses.length - 1}`));
});
