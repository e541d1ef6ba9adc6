// Unit tests of the logs verb on real SQLite and a real log store: what it checks before the first line, and what it selects.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { LambdaError } from '../errors.js';
import { linePrefix, prefixLines, type LogLine } from '../logs/format.js';
import { createLogStore, type LogStore } from '../logs/store.js';
import { openStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { parseSince, readLogs } from './logs.js';

const test = anyTest as TestFn<{ dir: string; store: Store; logs: LogStore }>;
const SHA1 = '1'.repeat(40);
const SHA2 = '2'.repeat(40);

test.beforeEach((t) => {
  t.context.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-core-logs-'));
  t.context.store = openStore(':memory:');
  t.context.logs = createLogStore({ dir: t.context.dir, fileBytes: 1024 * 1024, files: 2, builds: 3, buildBytes: 64 * 1024 });
  for (const sha of [SHA1, SHA2]) t.context.store.versions.publish({ fn: 'greet', sha, image: 'x', manifest: '{}' });
  const raw = Buffer.from('1000\to\tfrom v1\n');
  t.context.logs.append('greet', prefixLines(raw, raw.length, linePrefix('aaaaaaaaaaaa', 1)));
  const raw2 = Buffer.from(`${Date.now()}\to\tfrom v2\n`);
  t.context.logs.append('greet', prefixLines(raw2, raw2.length, linePrefix('bbbbbbbbbbbb', 2)));
});

test.afterEach.always((t) => {
  t.context.logs.close();
  t.context.store.close();
  fs.rmSync(t.context.dir, { recursive: true, force: true });
});

async function texts(lines: AsyncIterable<LogLine[]>): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of lines) out.push(...batch.map((line) => line.text));
  return out;
}

const deps = (t: { context: { store: Store; logs: LogStore } }) => ({ store: t.context.store, logs: t.context.logs });

test('since takes durations back from now and dated times; anything else is refused', (t) => {
  const now = Date.parse('2026-11-25T17:00:00Z');
  t.is(parseSince('90s', now), now - 90_000);
  t.is(parseSince('15m', now), now - 900_000);
  t.is(parseSince('1h', now), now - 3_600_000);
  t.is(parseSince('2d', now), now - 2 * 86_400_000);
  t.is(parseSince('2026-11-25T16:00:00Z', now), now - 3_600_000);
  for (const bad of ['', 'yesterday', '1700000000000', '1w', '-1h', '2026-13-45']) {
    t.throws(() => parseSince(bad, now), { instanceOf: LambdaError, message: /since: expected/ }, bad);
  }
});

test('version (v2 or 2) and since select lines', async (t) => {
  t.deepEqual(await texts(await readLogs(deps(t), { name: 'greet' })), ['from v1', 'from v2']);
  t.deepEqual(await texts(await readLogs(deps(t), { name: 'greet', version: 'v2' })), ['from v2']);
  t.deepEqual(await texts(await readLogs(deps(t), { name: 'greet', version: '1' })), ['from v1']);
  t.deepEqual(await texts(await readLogs(deps(t), { name: 'greet', since: '1h' })), ['from v2']);
  t.deepEqual(await texts(await readLogs(deps(t), { name: 'greet', tail: '1' })), ['from v2']);
});

test("build gives the last deploy's output, or with a version that version's deploy", async (t) => {
  const first = t.context.logs.recordBuild('greet', SHA1, () => {});
  first.progress({ type: 'step', phase: 'build', text: 'building one' });
  first.end();
  await new Promise((resolve) => setTimeout(resolve, 2));
  const second = t.context.logs.recordBuild('greet', SHA2, () => {});
  second.progress({ type: 'step', phase: 'build', text: 'building two' });
  second.end();
  t.deepEqual(await texts(await readLogs(deps(t), { name: 'greet', build: true })), ['-----> building two']);
  t.deepEqual(await texts(await readLogs(deps(t), { name: 'greet', build: true, version: 'v1' })), ['-----> building one']);
});

const refused = test.macro({
  async exec(t, input: Parameters<typeof readLogs>[1], code: string) {
    const error = await t.throwsAsync(readLogs(deps(t), input), { instanceOf: LambdaError });
    t.is(String(error?.code), code);
  },
  title: (given = '') => `refused before any line: ${given}`,
});

test('an invalid name', refused, { name: '../etc' }, 'LAMBDA_ERR_INVALID_NAME');
test('an unknown function', refused, { name: 'nobody' }, 'LAMBDA_ERR_FUNCTION_NOT_FOUND');
test('an unknown version', refused, { name: 'greet', version: 'v9' }, 'LAMBDA_ERR_VERSION_NOT_FOUND');
test('a malformed version', refused, { name: 'greet', version: 'latest' }, 'LAMBDA_ERR_BAD_REQUEST');
test('version 0', refused, { name: 'greet', version: 'v0' }, 'LAMBDA_ERR_BAD_REQUEST');
test('a malformed since', refused, { name: 'greet', since: 'soon' }, 'LAMBDA_ERR_BAD_REQUEST');
test('a malformed tail', refused, { name: 'greet', tail: '-5' }, 'LAMBDA_ERR_BAD_REQUEST');

test('a function whose first deploy failed has no record but its deploy output', async (t) => {
  const build = t.context.logs.recordBuild('broken', SHA1, () => {});
  build.end(new Error('boom'));
  t.deepEqual(await texts(await readLogs(deps(t), { name: 'broken', build: true })), [' !     internal error: boom (LAMBDA_ERR_INTERNAL)']);
  t.deepEqual(await texts(await readLogs(deps(t), { name: 'broken' })), []);
});
