// End to end, the operator's verbs in swarm mode against a swarm of two engines in network namespaces: `lambda nodes`
// lists both, counts an instance on the node that runs it, and shows a node cut off from the swarm as down; and an
// instance on the worker runs with no-new-privileges, which each node's engine sets.
import { execFileSync } from 'node:child_process';
import test from 'ava';
import { example, type Lambda } from '../helpers/lambda.js';
import { instancesOf, privileged, startSwarmLambda, tasksOf, waitFor, type Swarm } from '../helpers/swarm.js';

let swarm: Swarm | undefined;
let lambda: Lambda | undefined;
let destroy: (() => Promise<void>) | undefined;

const manifest = 'runtime: node20\nhandler: index.handler\ntimeout: 10s\nmemory: 128Mi\nidleTimeout: 5m\n';
/** Answers with its own process's NoNewPrivs line and the options /tmp is mounted with. */
const statusHandler = `import fs from 'node:fs';
const lineOf = (file, test) => fs.readFileSync(file, 'utf8').split('\\n').find(test);
export const handler = async () => ({
  line: lineOf('/proc/self/status', (line) => line.startsWith('NoNewPrivs')),
  tmp: lineOf('/proc/self/mounts', (line) => line.split(' ')[1] === '/tmp').split(' ')[3].split(','),
});
`;

interface Row {
  id: string;
  hostname: string;
  role: string;
  state: string;
  availability: string;
  engineVersion: string;
  instances: number;
  cells: number;
}

test.before(async () => {
  ({ swarm, lambda, destroy } = await startSwarmLambda());
});

test.after.always(async () => {
  await destroy?.();
});

async function nodesJson(): Promise<Row[]> {
  const shown = await lambda!.cli(['nodes', '--json']);
  if (shown.code !== 0) throw new Error(shown.stderr);
  return JSON.parse(shown.stdout) as Row[];
}

const nodeIdOf = async (index: number) => (await swarm!.docker(swarm!.nodes[index], ['info', '--format', '{{.Swarm.NodeID}}'])).trim();

test.serial("lambda nodes lists both nodes; the worker's instance, which runs with no-new-privileges, is counted on it", async (t) => {
  t.timeout(600_000);
  const s = swarm!;
  const [managerId, workerId] = [await nodeIdOf(0), await nodeIdOf(1)];

  const before = await nodesJson();
  t.deepEqual(before.map((row) => [row.id, row.role, row.state, row.availability, row.instances, row.cells]), [
    [managerId, 'manager', 'ready', 'active', 0, 0],
    [workerId, 'worker', 'ready', 'active', 0, 0],
  ]);
  for (const row of before) t.regex(row.engineVersion, /^\d+\.\d+/);

  const push = await lambda!.push('privs', example('greet'), { files: { 'lambda.yaml': manifest, 'index.js': statusHandler } });
  t.is(push.code, 0, `${push.stderr}\n${lambda!.output()}`);
  const answer = await lambda!.fetch('/fn/privs/');
  t.is(answer.status, 200, lambda!.output());
  const [service] = await instancesOf(s, 'privs');
  const [[node]] = await tasksOf(s, service);
  t.is(node.index, 1, 'the instance runs on the worker');
  // The service cannot ask for it on this engine; the worker's engine, started with --no-new-privileges, sets it.
  const facts = (await answer.json()) as { line: string; tmp: string[] };
  t.is(facts.line, 'NoNewPrivs:\t1');
  // A service's tmpfs gets the engine's defaults for such a mount: what a function writes there cannot be run.
  for (const option of ['noexec', 'nosuid', 'nodev']) t.true(facts.tmp.includes(option), facts.tmp.join(','));

  const after = await nodesJson();
  t.deepEqual(after.map((row) => [row.id, row.instances]), [[managerId, 0], [workerId, 1]]);
  const table = await lambda!.cli(['nodes']);
  t.is(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  t.is(lines.length, 3, table.stdout);
  t.regex(lines[1], new RegExp(`^${managerId.slice(0, 12)}\\s+\\S+\\s+manager\\s+ready\\s+active\\s+\\S+\\s+0\\s+0$`));
  t.regex(lines[2], new RegExp(`^${workerId.slice(0, 12)}\\s+\\S+\\s+worker\\s+ready\\s+active\\s+\\S+\\s+1\\s+0$`));
  // The manager's engine runs the function's relay with no-new-privileges too: the start check found nothing to say.
  t.notRegex(lambda!.output(), /no-new-privileges/);
});

test.serial('a worker cut off from the swarm is shown down, and its lost instance no longer counted', async (t) => {
  t.timeout(300_000);
  const s = swarm!;
  const workerId = await nodeIdOf(1);
  execFileSync(...privileged('ip', ['-n', `lsw-${s.id}-br`, 'link', 'set', 'v1', 'down']));
  await waitFor(async () => (await nodesJson()).find((row) => row.id === workerId)?.state === 'down', 120_000, 'lambda nodes to show the worker down');
  await waitFor(async () => lambda!.output().includes('was lost with its node'), 30_000, 'the server to forget the lost instance');
  await waitFor(async () => (await nodesJson()).find((row) => row.id === workerId)?.instances === 0, 30_000, 'the lost instance to leave the count');
  const rows = await nodesJson();
  t.deepEqual(rows.map((row) => [row.id === workerId ? 'worker' : 'manager', row.state]), [['manager', 'ready'], ['worker', 'down']]);
});
