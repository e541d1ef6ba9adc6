// Unit tests of the log store on a real temp folder: rotation bounds, whole lines, filters, follow, deploy output.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { LambdaError } from '../errors.js';
import type { ProgressEvent } from './progress.js';
import { encodeLine, linePrefix, parseLine, prefixLines, type LogLine } from './format.js';
import { createLogStore, type LogStore, type LogStoreOptions } from './store.js';

const test = anyTest as TestFn<{ dir: string; store: LogStore }>;
const KI = 1024;
const limits: Omit<LogStoreOptions, 'dir'> = { fileBytes: 4 * KI, files: 3, builds: 2, buildBytes: 2 * KI };

test.beforeEach((t) => {
  t.context.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-logs-'));
  t.context.store = createLogStore({ dir: t.context.dir, ...limits });
});

test.afterEach.always((t) => {
  t.context.store.close();
  fs.rmSync(t.context.dir, { recursive: true, force: true });
});

/** Lines as the shim sends them, prefixed as the host stores them. */
function shimLines(instance: string, version: number, lines: { time: number; stream?: string; text: string }[]): Buffer {
  const raw = Buffer.from(lines.map((line) => `${line.time}\t${line.stream ?? 'o'}\t${line.text}\n`).join(''));
  return prefixLines(raw, raw.length, linePrefix(instance, version));
}

async function all(lines: AsyncIterable<LogLine[]>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const batch of lines) out.push(...batch);
  return out;
}

const texts = (lines: LogLine[]) => lines.map((line) => line.text);

test('lines come back with their time, stream, instance and version, oldest first', async (t) => {
  const { store } = t.context;
  store.append('greet', shimLines('aaaaaaaaaaaa', 1, [{ time: 1000, text: 'one' }, { time: 1001, stream: 'e', text: 'two\twith a tab' }]));
  store.append('greet', shimLines('bbbbbbbbbbbb', 2, [{ time: 1002, stream: 'p', text: 'START RequestId: x Version: 2' }]));
  const lines = await all(store.read('greet', {}));
  t.deepEqual(lines, [
    { time: 1000, stream: 'out', instance: 'aaaaaaaaaaaa', version: 1, text: 'one' },
    { time: 1001, stream: 'err', instance: 'aaaaaaaaaaaa', version: 1, text: 'two\twith a tab' },
    { time: 1002, stream: 'platform', instance: 'bbbbbbbbbbbb', version: 2, text: 'START RequestId: x Version: 2' },
  ]);
  t.true(store.has('greet'));
  t.false(store.has('other'));
});

test('since, version and tail filter', async (t) => {
  const { store } = t.context;
  store.append('greet', shimLines('aaaaaaaaaaaa', 1, [{ time: 1000, text: 'a' }, { time: 2000, text: 'b' }]));
  store.append('greet', shimLines('bbbbbbbbbbbb', 2, [{ time: 3000, text: 'c' }, { time: 4000, text: 'd' }]));
  t.deepEqual(texts(await all(store.read('greet', { since: 2000 }))), ['b', 'c', 'd']);
  t.deepEqual(texts(await all(store.read('greet', { version: 1 }))), ['a', 'b']);
  t.deepEqual(texts(await all(store.read('greet', { tail: 3 }))), ['b', 'c', 'd']);
  t.deepEqual(texts(await all(store.read('greet', { version: 2, tail: 1 }))), ['d']);
});

test('the log is rotated and never takes more than files × fileBytes; files hold whole lines', async (t) => {
  const { store, dir } = t.context;
  for (let i = 0; i < 500; i++) {
    store.append('flood', shimLines('aaaaaaaaaaaa', 1, [{ time: 1000 + i, text: `line ${i} ${'x'.repeat(i % 90)}` }]));
    if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const lines = await all(store.read('flood', {}));
  const files = fs.readdirSync(path.join(dir, 'flood')).sort();
  t.deepEqual(files, ['function.log', 'function.log.1', 'function.log.2']);
  t.true(store.bytes('flood') <= limits.fileBytes * limits.files, `${store.bytes('flood')} bytes kept`);
  for (const file of files) {
    const text = fs.readFileSync(path.join(dir, 'flood', file), 'utf8');
    t.true(text.endsWith('\n'), `${file} ends with a whole line`);
    t.true(text.split('\n').slice(0, -1).every((line) => /^aaaaaaaaaaaa\t1\t\d+\to\tline \d+ x*$/.test(line)));
  }
  // The newest lines are kept, in order, without a gap.
  const numbers = lines.map((line) => Number(/^line (\d+)/.exec(line.text)?.[1]));
  t.is(numbers.at(-1), 499);
  t.deepEqual(numbers, numbers.map((_, index) => (numbers[0] ?? 0) + index));
});

test('what is kept survives a new store on the same folder (a server restart)', async (t) => {
  const { store, dir } = t.context;
  store.append('greet', shimLines('aaaaaaaaaaaa', 1, [{ time: 1000, text: 'before' }]));
  store.close();
  const again = createLogStore({ dir, ...limits });
  again.append('greet', shimLines('bbbbbbbbbbbb', 1, [{ time: 2000, text: 'after' }]));
  t.deepEqual(texts(await all(again.read('greet', {}))), ['before', 'after']);
  again.close();
});

test('follow gives what is kept, then each new line once, until aborted', async (t) => {
  const { store } = t.context;
  store.append('greet', shimLines('aaaaaaaaaaaa', 1, [{ time: 1000, text: 'old' }]));
  const abort = new AbortController();
  const seen: string[] = [];
  const reading = (async () => {
    for await (const batch of store.read('greet', { follow: true, signal: abort.signal })) {
      seen.push(...texts(batch));
      if (seen.includes('new 2')) abort.abort();
    }
  })();
  // Appended while the reader starts: in the snapshot or the subscription, never both.
  store.append('greet', shimLines('aaaaaaaaaaaa', 1, [{ time: 2000, text: 'new 1' }]));
  await new Promise((resolve) => setTimeout(resolve, 20));
  store.append('greet', shimLines('aaaaaaaaaaaa', 1, [{ time: 3000, text: 'new 2' }]));
  await reading;
  t.deepEqual(seen, ['old', 'new 1', 'new 2']);
});

test('follow keeps the version filter; stopFollowing ends every reader (server shutdown)', async (t) => {
  const { store } = t.context;
  const seen: string[] = [];
  const reading = (async () => {
    for await (const batch of store.read('greet', { follow: true, version: 2 })) seen.push(...texts(batch));
  })();
  await new Promise((resolve) => setTimeout(resolve, 10));
  store.append('greet', shimLines('aaaaaaaaaaaa', 1, [{ time: 1, text: 'v1' }]));
  store.append('greet', shimLines('bbbbbbbbbbbb', 2, [{ time: 2, text: 'v2' }]));
  await new Promise((resolve) => setTimeout(resolve, 10));
  store.stopFollowing();
  await reading;
  t.deepEqual(seen, ['v2']);
});

test('a line the function forged keeps the host fields and is shown whole', (t) => {
  t.deepEqual(parseLine('aaaaaaaaaaaa\t3\tnot-a-time\tz\ttext', 42), { time: 42, stream: 'out', instance: 'aaaaaaaaaaaa', version: 3, text: 'not-a-time\tz\ttext' });
  t.deepEqual(parseLine('aaaaaaaaaaaa\t3\t', 42), { time: 42, stream: 'out', instance: 'aaaaaaaaaaaa', version: 3, text: '' });
  t.is(parseLine('garbage', 42), undefined);
});

test('a deploy is recorded as text lines with its failure; the newest are kept', async (t) => {
  const { store, dir } = t.context;
  const events: ProgressEvent[] = [];
  const first = store.recordBuild('greet', 'a'.repeat(40), (event) => events.push(event));
  first.progress({ type: 'step', phase: 'build', text: 'Building image lambda/greet:aaaaaaaaaaaa ...' });
  first.progress({ type: 'detail', text: '[1/3] FROM base' });
  first.end();
  await new Promise((resolve) => setTimeout(resolve, 2));
  const second = store.recordBuild('greet', 'b'.repeat(40), () => {});
  second.progress({ type: 'warn', text: 'SyntaxError: Unexpected token \x1b[31m' });
  second.end(new LambdaError('LAMBDA_ERR_HEALTHCHECK_FAILED', { detail: 'the process exited with status 1 before answering' }));
  t.is(events.length, 2, 'the caller still gets every event');

  const last = await all(store.readBuild('greet', {}));
  t.deepEqual(texts(last), [
    ' !     SyntaxError: Unexpected token \\x1b[31m',
    ' !     the new version did not become healthy: the process exited with status 1 before answering (LAMBDA_ERR_HEALTHCHECK_FAILED)',
  ]);
  t.true(last.every((line) => line.stream === 'build' && line.instance === 'bbbbbbbbbbbb' && line.version === null));
  t.deepEqual(texts(await all(store.readBuild('greet', { sha: 'a'.repeat(40) }))), ['-----> Building image lambda/greet:aaaaaaaaaaaa ...', '       [1/3] FROM base']);

  await new Promise((resolve) => setTimeout(resolve, 2));
  store.recordBuild('greet', 'c'.repeat(40), () => {}).end();
  t.is(fs.readdirSync(path.join(dir, 'greet', 'builds')).length, limits.builds);
  t.deepEqual(await all(store.readBuild('greet', { sha: 'a'.repeat(40) })), [], 'the oldest deploy was pruned');
});

test("a deploy's output is cut at its size limit with a marker", async (t) => {
  const build = t.context.store.recordBuild('greet', 'a'.repeat(40), () => {});
  for (let i = 0; i < 100; i++) build.progress({ type: 'detail', text: `line ${i} ${'y'.repeat(50)}` });
  build.end();
  const lines = texts(await all(t.context.store.readBuild('greet', {})));
  t.regex(lines.at(-1) ?? '', /not kept \(over the size limit\)/);
  t.true(lines.length < 100);
});

test('names that are not function names never reach the file system', (t) => {
  t.throws(() => t.context.store.append('../etc', Buffer.from('x\n')));
  t.throws(() => t.context.store.has('a/b'));
});

test('encodeLine writes what parseLine reads', (t) => {
  const line: LogLine = { time: 5, stream: 'build', instance: 'cccccccccccc', version: null, text: 'multi\nline' };
  t.deepEqual(parseLine(encodeLine(line).slice(0, -1), 0), { ...line, text: 'multi line' });
});
