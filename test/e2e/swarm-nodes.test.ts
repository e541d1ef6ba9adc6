// End to end, a node that leaves under load: the server in swarm mode (LAMBDA_ENGINE=swarm) on a swarm of two engines,
// a function with four instances spread over both nodes serving four clients (one each), and the worker cut off mid-load.
// The requests that were on the worker's instances fail as a crash does (502, counted as crashes), never as timeouts
// or hangs; every other answer is 200, and the function goes on answering from instances started on the manager.
import { execFileSync } from 'node:child_process';
import test from 'ava';
import { example, type Lambda } from '../helpers/lambda.js';
import { instancesOf, privileged, startSwarmLambda, tasksOf, waitFor, type Swarm } from '../helpers/swarm.js';

let swarm: Swarm | undefined;
let lambda: Lambda | undefined;

/**
 * Four instances kept warm, one request each at a time: the clients never wait for a start while the worker is there.
 * The default timeout (10 s): the loss must be known before it, or the requests on the worker end as timeouts.
 */
const manifest = 'runtime: node20\nhandler: index.handler\ntimeout: 10s\nmemory: 128Mi\nconcurrency: 1\nminInstances: 4\nmaxInstances: 4\nidleTimeout: 5m\n';
/** About 200 ms of work, and which container did it. */
const handler = `import os from 'node:os';
export const handler = async () => {
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { host: os.hostname() };
};
`;
const CLIENTS = 4;
/** The load's bound, whatever happens: the worker is cut after a few seconds, and the swarm marks it down 3–4 s later. */
const LOAD_MS = 60_000;

let destroy: (() => Promise<void>) | undefined;

test.before(async () => {
  ({ swarm, lambda, destroy } = await startSwarmLambda());
});

test.after.always(async () => {
  await destroy?.();
});

/** Which node (by index) runs the task of each of `fn`'s instances, with the task's container. */
async function placement(fn: string): Promise<Array<{ node: number; container: string }>> {
  const found: Array<{ node: number; container: string }> = [];
  for (const service of await instancesOf(swarm!, fn)) {
    for (const [node, container] of await tasksOf(swarm!, service)) found.push({ node: node.index, container });
  }
  return found;
}

interface Answer {
  status: number;
  host?: string;
  code?: string;
  sentAt: number;
  endedAt: number;
}

test.serial('the worker cut off under load: its requests in flight fail as crashes (502), every other is 200, and the manager serves on', async (t) => {
  t.timeout(600_000);
  const s = swarm!;
  const push = await lambda!.push('steady', example('greet'), { files: { 'lambda.yaml': manifest, 'index.js': handler } });
  t.is(push.code, 0, `${push.stderr}\n${lambda!.output()}`);
  await waitFor(async () => (await placement('steady')).length === 4, 120_000, "steady's four instances to run");
  const before = await placement('steady');
  const onWorker = before.filter((each) => each.node === 1);
  t.log(`instances: ${before.map((each) => `${each.container.slice(0, 12)} on node ${each.node}`).join(', ')}`);
  // The swarm spreads them; a test where one node has them all would prove nothing.
  t.true(onWorker.length > 0 && onWorker.length < 4, 'the instances are spread over both nodes');
  // The server shortened the swarm's heartbeat (5 s by default), by which its manager knows a node is gone.
  t.is((await s.docker(s.manager, ['info', '--format', '{{.Swarm.Cluster.Spec.Dispatcher.HeartbeatPeriod}}'])).trim(), '1s');
  for (let i = 0; i < 8; i++) t.is((await lambda!.fetch('/fn/steady/')).status, 200, lambda!.output());

  const answers: Answer[] = [];
  const startedAt = Date.now();
  let stopAt = startedAt + LOAD_MS;
  const client = async (): Promise<void> => {
    while (Date.now() < stopAt) {
      const sentAt = Date.now();
      const response = await lambda!.fetch('/fn/steady/', { signal: AbortSignal.timeout(LOAD_MS) }).catch(() => undefined);
      const text = response ? await response.text().catch(() => '') : '';
      let body: { host?: string; error?: { code?: string }; code?: string } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        // not JSON: kept as a status only
      }
      answers.push({ status: response?.status ?? 0, host: body.host, code: body.error?.code ?? body.code, sentAt, endedAt: Date.now() });
    }
  };
  const load = Promise.all(Array.from({ length: CLIENTS }, client));

  await waitFor(async () => answers.length >= 20, 20_000, 'the load to be under way');
  // The worker's only link to the other node goes down, as a machine that fails or leaves the network does.
  const cutAt = Date.now();
  execFileSync(...privileged('ip', ['-n', `lsw-${s.id}-br`, 'link', 'set', 'v1', 'down']));
  await waitFor(async () => (lambda!.output().match(/was lost with its node/g) ?? []).length >= onWorker.length, LOAD_MS, 'the server to hear the worker\'s instances were lost');
  const lostAt = Date.now();
  t.log(`the worker's loss known ${lostAt - cutAt} ms after the cut`);
  // A few more seconds of load: the lost instances' clients come back and are served from the manager.
  stopAt = Math.min(stopAt, Date.now() + 5_000);
  await load;

  const count = (status: number) => answers.filter((answer) => answer.status === status).length;
  t.log(`${answers.length} answers in ${Date.now() - startedAt} ms: ${count(200)} × 200, ${count(502)} × 502`);
  const failed = answers.filter((answer) => answer.status !== 200);
  // Only 502s, and only for requests sent before the loss was known: each was on an instance of the worker (at most
  // one per instance, concurrency 1), and each ended when the loss was known, not at its 10 s timeout.
  t.deepEqual([...new Set(failed.map((answer) => answer.status))], failed.length > 0 ? [502] : [], JSON.stringify(failed));
  t.true(failed.length >= 1 && failed.length <= onWorker.length, `${failed.length} failed, ${onWorker.length} instances on the worker`);
  for (const answer of failed) {
    t.is(answer.code, 'LAMBDA_ERR_FUNCTION_CRASHED');
    t.true(answer.sentAt <= lostAt && answer.endedAt >= cutAt, JSON.stringify(answer));
  }
  // Answers after the loss came from the manager's instances, some started there to replace the lost ones.
  const workerHosts = new Set(onWorker.map((each) => each.container.slice(0, 12)));
  const after = answers.filter((answer) => answer.status === 200 && answer.sentAt > lostAt);
  t.true(after.length > 0, 'the function answered after the loss');
  t.false(after.some((answer) => workerHosts.has(answer.host ?? '')), 'no answer after the loss came from the worker');

  // The metrics count the failures as crashes, and no timeout.
  const metrics = (await (await lambda!.api('/api/v1/functions/steady/metrics')).json()) as { crashes: number; timeouts: number };
  t.is(metrics.crashes, failed.length, JSON.stringify(metrics));
  t.is(metrics.timeouts, 0);

  // The pool started the lost instances again on the node left, and the function goes on answering 200.
  await waitFor(async () => (await placement('steady')).filter((each) => each.node === 0).length === 4, 60_000, 'four instances on the manager');
  for (let i = 0; i < 8; i++) t.is((await lambda!.fetch('/fn/steady/')).status, 200, lambda!.output());
});
