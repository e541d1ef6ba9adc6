// The sandbox's output splitter fed as the engine feeds it (chunks on a stdout and a stderr stream), hostile
// output included: one endless line, a flood past the run's budget, line ends split across chunks.
import type { Writable } from 'node:stream';
import test from 'ava';
import { cutLineMark, cutRunLine, OUTPUT_LIMITS, runOutput, type OutputLimits } from './output-lines.js';

function feed(writable: Writable, chunk: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => writable.write(chunk, (error) => (error ? reject(error) : resolve())));
}

function collect(limits?: OutputLimits) {
  const lines: string[] = [];
  const output = runOutput((line) => lines.push(line), limits);
  return { lines, output };
}

test('lines end at \\n, \\r\\n and \\r, also when a chunk splits them; the last one comes with flush', async (t) => {
  const { lines, output } = collect();
  const out = output.source();
  for (const chunk of ['added 1 pack', 'age\nprogress 10%\rprogress 20%\r', '\nwindows\r\n', '\r\n\nlast']) await feed(out, chunk);
  t.deepEqual(lines, ['added 1 package', 'progress 10%', 'progress 20%', 'windows', '', '']);
  output.flush();
  t.deepEqual(lines.slice(6), ['last']);
});

test('a character split across chunks comes out whole', async (t) => {
  const { lines, output } = collect();
  const out = output.source();
  const text = Buffer.from('héllo ✓\n');
  await feed(out, text.subarray(0, 2));
  await feed(out, text.subarray(2, 8));
  await feed(out, text.subarray(8));
  t.deepEqual(lines, ['héllo ✓']);
});

test('a line past the line bound is cut there, marked, and the rest of it dropped up to its end', async (t) => {
  const limits = { lineBytes: 16, runBytes: 1024 };
  const { lines, output } = collect(limits);
  const out = output.source();
  await feed(out, 'exactly 16 bytes\n');
  await feed(out, 'a'.repeat(10));
  await feed(out, 'b'.repeat(10));
  await feed(out, 'c'.repeat(40));
  await feed(out, 'ccc\nnext\n');
  t.deepEqual(lines, ['exactly 16 bytes', `${cutLineMark(limits)} aaaaaaaaaabbbbbb`, 'next']);
});

test('attack: 64 MiB without a newline gives one cut line and one line saying the run was cut', async (t) => {
  const { lines, output } = collect();
  const out = output.source();
  const chunk = Buffer.alloc(64 * 1024, 'x');
  for (let sent = 0; sent < 64 * 1024 * 1024; sent += chunk.length) await feed(out, chunk);
  await feed(out, 'after the flood\n');
  output.flush();
  t.is(lines.length, 2);
  t.is(lines[0], `${cutLineMark(OUTPUT_LIMITS)} ${'x'.repeat(OUTPUT_LIMITS.lineBytes)}`);
  t.is(lines[1], cutRunLine(OUTPUT_LIMITS));
  t.is(cutLineMark(OUTPUT_LIMITS), '[line cut at 64 KiB]');
  t.regex(cutRunLine(OUTPUT_LIMITS), /^\[output cut at 16 MiB/);
});

test('attack: a flood of short lines stops at the run bound, stdout and stderr together; the rest is read and dropped', async (t) => {
  const limits = { lineBytes: 64, runBytes: 100 };
  const { lines, output } = collect(limits);
  const out = output.source();
  const err = output.source();
  await feed(out, 'o'.repeat(9) + '\n'.repeat(1) + 'o'.repeat(39) + '\n');
  await feed(err, `${'e'.repeat(9)}\n${'e'.repeat(60)}\n`);
  // Past the bound: still taken (the job is not blocked on a full pipe), never handed on.
  await feed(out, 'dropped\n');
  await feed(err, 'dropped\n');
  output.flush();
  t.deepEqual(lines, ['o'.repeat(9), 'o'.repeat(39), 'e'.repeat(9), 'e'.repeat(40), cutRunLine(limits)]);
  t.false(lines.includes('dropped'));
});
