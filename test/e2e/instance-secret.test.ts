// End to end: the instance secret never reaches function code. A node20 function (a classic instance, then one made
// from a pre-started cell) and a python3 one read /proc/self/environ, PID 1's and their parent's: none holds
// LAMBDA_INSTANCE_SECRET, while the host's own calls (health, direct invokes), also after the server restarts and
// adopts its instances, still carry it.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { command, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda({ LAMBDA_CELLS: '1' });
});

test.after.always(async () => {
  await lambda?.destroy();
});

interface Probe {
  found: Record<string, boolean>;
  env: boolean;
  ppid: number;
}

async function probe(name: string): Promise<Probe> {
  const response = await lambda.fetch(`/fn/${name}/`);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${name} answered ${response.status}: ${text}`);
  return JSON.parse(text) as Probe;
}

const expectNoSecret = (value: Probe) => ({ ...value, found: { self: false, pid1: false, parent: false }, env: false });

/** Containers of this server: [id, function label, cell label]. */
async function containers(): Promise<string[][]> {
  const { stdout } = await command('docker', ['ps', '--filter', `label=lambda.server=${lambda.serverId()}`, '--format', '{{.ID}}|{{.Label "lambda.function"}}|{{.Label "lambda.cell"}}']);
  return stdout.split('\n').filter(Boolean).map((line) => line.split('|'));
}

/** True when a cell became an instance of `fn` (the server records what each serves beside its task folder). */
function servedByCell(fn: string): boolean {
  const dir = path.join(lambda.dataDir, 'data', 'cells', 'tasks');
  return fs.readdirSync(dir).some((name) => name.endsWith('.json') && (JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as { fn: string }).fn === fn);
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test.serial('node20: neither a classic instance nor one made from a cell can read the secret in any environ; direct invokes still work', async (t) => {
  const first = await lambda.push('secretnode', fixture('forger'));
  t.is(first.code, 0, first.stderr);
  const classic = await probe('secretnode');
  t.deepEqual(classic, expectNoSecret(classic));
  const invoked = await lambda.api('/api/v1/functions/secretnode/invoke', { method: 'POST', body: '{}' });
  t.is(invoked.status, 200, 'the host still proves itself to the shim');

  // The next version starts from the waiting cell.
  await until('a cell waiting in the pool', async () => (await containers()).some(([, fn, cell]) => cell === 'node20' && !fn));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const second = await lambda.push('secretnode', fixture('forger'), { files: { 'extra.txt': 'v2\n' } });
  t.is(second.code, 0, second.stderr);
  t.true(servedByCell('secretnode'), 'v2 was started from a pre-started cell');
  const fromCell = await probe('secretnode');
  t.deepEqual(fromCell, expectNoSecret(fromCell));
  t.is((await lambda.api('/api/v1/functions/secretnode/invoke', { method: 'POST', body: '{}' })).status, 200);
});

test.serial('python3: the instance cannot read the secret in any environ; after a crash restart the adopted instance still takes direct invokes', async (t) => {
  const push = await lambda.push('secretpy', fixture('python-probe'));
  t.is(push.code, 0, push.stderr);
  const value = await probe('secretpy');
  t.deepEqual(value, expectNoSecret(value));
  await lambda.restart('SIGKILL');
  const invoked = await lambda.api('/api/v1/functions/secretpy/invoke', { method: 'POST', body: '{}' });
  t.is(invoked.status, 200, await invoked.text());
});
