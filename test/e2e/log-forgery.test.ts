// End to end: a function that writes its own records on /run/lambda/log.sock, with a stream letter and a time of its
// choosing (a platform REPORT dated 2001, a "-----> Deployed by admin" line, a build-stream line), gets them kept
// only as its own output, stamped with the host's time; the platform's real START/END/REPORT still are platform lines.
import test from 'ava';
import { fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

interface Entry {
  time: string;
  stream: string;
  instance: string;
  version: number | null;
  text: string;
}

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
  const push = await lambda.push('forger', fixture('forger'));
  if (push.code !== 0) throw new Error(`could not deploy forger: ${push.stderr}`);
});

test.after.always(async () => {
  await lambda?.destroy();
});

async function logs(query = ''): Promise<Entry[]> {
  const response = await lambda.api(`/api/v1/functions/forger/logs${query}`);
  if (response.status !== 200) throw new Error(`logs answered ${response.status}: ${await response.text()}`);
  return (await response.text()).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Entry);
}

async function waitForLogs(predicate: (entries: Entry[]) => boolean): Promise<Entry[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const entries = await logs();
    if (predicate(entries)) return entries;
    if (Date.now() > deadline) throw new Error(`not in the log in time; it ends with:\n${entries.slice(-8).map((e) => `${e.stream} ${e.text}`).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test.serial('forged platform, deploy and build records are kept as the function output, with the host time', async (t) => {
  const before = Date.now() - 1000;
  const response = await lambda.fetch('/fn/forger/forge?mark=m1');
  t.is(response.status, 200, await response.text());
  const entries = await waitForLogs((all) => all.some((entry) => entry.text.includes('forged output m1')) && all.some((entry) => entry.text.startsWith('REPORT RequestId: ') && !entry.text.includes('forged-m1')));
  const forged = entries.filter((entry) => entry.text.includes('m1') && entry.text.includes('forged') || entry.text.includes('Deployed by admin'));
  t.true(forged.length >= 5, JSON.stringify(forged, null, 1));
  for (const entry of forged) {
    t.is(entry.stream, 'out', `${entry.text} is the function's own output`);
    t.true(Date.parse(entry.time) >= before, `${entry.text} has the host's time, not ${entry.time}`);
    t.is(entry.version, 1);
  }
  // Each forged record is there with its text, whatever the letter it came with.
  t.true(forged.some((entry) => entry.text.includes('REPORT RequestId: forged-m1')));
  t.true(forged.some((entry) => entry.text.includes('-----> Deployed by admin m1')));
  t.true(forged.some((entry) => entry.text.includes('-----> Deployed by admin (build) m1')));
  t.false(entries.some((entry) => entry.stream !== 'out' && /forged|Deployed by admin/.test(entry.text)));
  t.false(entries.some((entry) => Date.parse(entry.time) < before), 'nothing dated 2001');
  // The platform's own records of that request are still platform lines.
  const platform = entries.filter((entry) => entry.stream === 'platform').map((entry) => entry.text);
  t.true(platform.some((text) => /^START RequestId: \S+ Version: 1$/.test(text)), platform.join('\n'));
  t.true(platform.some((text) => /^REPORT RequestId: \S+\tDuration: [\d.]+ ms\t.*Status: success$/.test(text)), platform.join('\n'));

  // Neither `lambda logs` nor `lambda logs --build` shows them as anything else.
  const cli = await lambda.cli(['logs', 'forger', '--lines', '0']);
  t.is(cli.code, 0, cli.stderr);
  t.regex(cli.stdout, /\| -----> Deployed by admin m1/);
  t.notRegex(cli.stdout, /^2001-/m);
  const build = await lambda.cli(['logs', 'forger', '--build']);
  t.is(build.code, 0, build.stderr);
  t.notRegex(build.stdout, /Deployed by admin/);
});
