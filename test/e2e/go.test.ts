// End to end: the go runtime. hello.go (no go.mod) answers HTTP and runs on a cron schedule; a program that exits 1
// is a 502 with its stderr in the log; one over its timeout is a 504 and the next call gets a fresh instance; a
// vendored module builds; a compile error rejects the push with file:line while the live version keeps serving;
// attacks: a module that wants the network, a link to a host file, go:generate and cgo do nothing.
import test from 'ava';
import fs from 'node:fs';
import { fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
});

test.after.always(async () => {
  await lambda?.destroy();
});

async function logLines(name: string): Promise<string[]> {
  const response = await lambda.api(`/api/v1/functions/${name}/logs?tail=0`);
  return (await response.text()).split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { text: string }).text);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test.serial('hello.go is deployed by git push and answers over HTTP, its invocations logged as START/END/REPORT', async (t) => {
  const push = await lambda.push('gohello', fixture('go-hello'));
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, /Reading lambda\.yaml \(runtime go\)/);
  t.regex(push.stderr, /Compiling with go1\.\d+/);
  const answer = await lambda.fetch('/fn/gohello/');
  t.is(answer.status, 200);
  t.is(answer.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.is(await answer.text(), 'Hello, World!\n');
  const invoked = await lambda.api('/api/v1/functions/gohello/invoke', { method: 'POST', body: '{}' });
  t.is(invoked.status, 200);
  t.is(await invoked.json(), 'Hello, World!\n');
  const lines = await until('the REPORT lines', async () => {
    const all = await logLines('gohello');
    return all.filter((line) => line.startsWith('REPORT RequestId: ')).length >= 2 ? all : undefined;
  });
  t.true(lines.some((line) => /^START RequestId: \S+ Version: 1$/.test(line)), lines.join('\n'));
  t.true(lines.some((line) => /^REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: \d+ MB\tStatus: success$/.test(line)), lines.join('\n'));
});
