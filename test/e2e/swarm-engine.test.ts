// End to end, the server in swarm mode (LAMBDA_ENGINE=swarm) against a swarm of two engines in network namespaces:
// a `git push` deploys, the image reaches the worker through the platform's registry, a request is answered by an
// instance on the worker through its function's relay, the function scales to zero and back, and that instance
// reaches neither the nodes' services nor another function's relay.
import { execFileSync } from 'node:child_process';
import test from 'ava';
import { example, type Lambda } from '../helpers/lambda.js';
import { REGISTRY_PULL, addressOn, instancesOf, nodeAddress, privileged, startSwarmLambda, tasksOf, waitFor, type Swarm } from '../helpers/swarm.js';
import { RELAY_PORT, functionNetwork } from '../../server/engine/swarm/link.js';

let swarm: Swarm | undefined;
let lambda: Lambda | undefined;
const manifest = 'runtime: node20\nhandler: index.handler\ntimeout: 10s\nmemory: 128Mi\nidleTimeout: 3s\n';

let destroy: (() => Promise<void>) | undefined;

test.before(async () => {
  ({ swarm, lambda, destroy } = await startSwarmLambda());
});

test.after.always(async () => {
  await destroy?.();
});

/** Runs Node's code as the function's user inside `service`'s task; what it printed. */
async function inInstance(service: string, code: string): Promise<string> {
  const [[node, container]] = await tasksOf(swarm!, service);
  return (await swarm!.docker(node, ['exec', container, 'node', '-e', code], { timeoutMs: 30_000 })).trim();
}

/** A TCP dial from inside `service`'s task: `connected`, or why not. */
function dialFrom(service: string, host: string, port: number): Promise<string> {
  return inInstance(service, `const s = require('net').connect(${port}, ${JSON.stringify(host)}); s.setTimeout(3000);
    s.on('connect', () => { console.log('connected'); s.destroy(); });
    s.on('timeout', () => { console.log('timeout'); s.destroy(); });
    s.on('error', (e) => console.log(e.code || e.message));`);
}

test.serial('a git push deploys; the request is answered by an instance on the worker; it scales to zero and back', async (t) => {
  t.timeout(600_000);
  const s = swarm!;
  const started = Date.now();
  const push = await lambda!.push('greet', example('greet'), { files: { 'lambda.yaml': manifest } });
  t.is(push.code, 0, `${push.stderr}\n${lambda!.output()}`);
  t.log(`push, first build on the manager's engine included: ${Date.now() - started} ms`);

  const first = await lambda!.fetch('/fn/greet/?name=Swarm');
  t.is(first.status, 200, lambda!.output());
  t.deepEqual(await first.json(), { message: 'Hello, Swarm!' });
  const [service] = await instancesOf(swarm!, 'greet');
  t.truthy(service);
  const [[node]] = await tasksOf(s, service);
  t.is(node.index, 1, 'the instance runs on the worker');
  t.not((await s.docker(s.nodes[1], ['image', 'ls', '-q', `${REGISTRY_PULL}/lambda-fn/greet`])).trim(), '', 'the worker pulled the version from the registry');
  // The instance's START/END/REPORT cross the link too and land in the function's log on the manager.
  await waitFor(async () => {
    const text = await (await lambda!.api('/api/v1/functions/greet/logs')).text();
    return /"text":"START RequestId/.test(text) && /"text":"REPORT RequestId/.test(text);
  }, 20_000, "greet's START and REPORT lines in its log");

  await waitFor(async () => (await instancesOf(swarm!, 'greet')).length === 0, 60_000, 'greet to scale to zero');
  const again = await lambda!.fetch('/fn/greet/?name=again');
  t.is(again.status, 200, lambda!.output());
  t.deepEqual(await again.json(), { message: 'Hello, again!' });
  t.is((await instancesOf(swarm!, 'greet')).length, 1);
});

test.serial("an instance on the worker reaches neither the nodes' services nor another function's relay", async (t) => {
  t.timeout(300_000);
  const s = swarm!;
  const other = await lambda!.push('other', example('greet'), { files: { 'lambda.yaml': manifest.replace('idleTimeout: 3s', 'idleTimeout: 5m') } });
  t.is(other.code, 0, other.stderr);
  t.is((await lambda!.fetch('/fn/other/')).status, 200);
  const greet = await lambda!.fetch('/fn/greet/');
  t.is(greet.status, 200);
  const [service] = await instancesOf(swarm!, 'greet');
  const [[relayNode, relay]] = await tasksOf(s, 'lambda-relay-other');
  const otherRelay = await addressOn(s, relayNode, relay, functionNetwork('other'));
  t.regex(otherRelay, /^\d+\.\d+\.\d+\.\d+$/);

  // Its own relay answers: the refusals below are the networks', not a dead link.
  t.is(await dialFrom(service, 'lambda-gateway', RELAY_PORT), 'connected');
  t.regex(await dialFrom(service, otherRelay, RELAY_PORT), /EHOSTUNREACH|ENETUNREACH|timeout/);
  for (const [host, port] of [[nodeAddress(0), 2377], [nodeAddress(0), 7946], [nodeAddress(1), 2377], [nodeAddress(0), 5000]] as const) {
    t.regex(await dialFrom(service, host, port), /EHOSTUNREACH|ENETUNREACH|timeout/, `${host}:${port}`);
  }
  // No engine socket in the instance: the engines listen on Unix sockets of their own hosts only.
  t.is(await inInstance(service, "console.log(['/var/run/docker.sock', '/run/docker.sock'].some((p) => require('fs').existsSync(p)))"), 'false');
});

test.serial('a server killed and started again adopts the instance on the worker: its link is made again and it answers', async (t) => {
  t.timeout(300_000);
  const s = swarm!;
  const [before] = await instancesOf(swarm!, 'other');
  t.truthy(before);
  await lambda!.restart('SIGKILL');
  const answer = await lambda!.fetch('/fn/other/?name=adopted');
  t.is(answer.status, 200, lambda!.output());
  t.deepEqual(await answer.json(), { message: 'Hello, adopted!' });
  t.deepEqual(await instancesOf(swarm!, 'other'), [before], 'the same instance, adopted rather than replaced');
  t.is((await tasksOf(s, before)).length, 1);
});

test.serial('an instance removed behind the server\'s back is replaced; a worker cut off from the swarm loses its instance, and the next request is answered by one started on the manager', async (t) => {
  t.timeout(300_000);
  const s = swarm!;
  // A function whose instance stays while idle: the one lost is lost with its node, not stopped for idling.
  const push = await lambda!.push('steady', example('greet'), { files: { 'lambda.yaml': manifest.replace('idleTimeout: 3s', 'idleTimeout: 5m') } });
  t.is(push.code, 0, push.stderr);
  t.is((await lambda!.fetch('/fn/steady/?name=before')).status, 200);
  // Placement is the swarm's: with the manager taking no new task, the instance that replaces one removed behind the
  // server's back can only go to the worker.
  const managerId = (await s.docker(s.manager, ['info', '--format', '{{.Swarm.NodeID}}'])).trim();
  await s.docker(s.manager, ['node', 'update', '--availability', 'pause', managerId]);
  const [removed] = await instancesOf(swarm!, 'steady');
  await s.docker(s.manager, ['service', 'rm', removed]);
  // Whichever the swarm shows first, the task shut down or gone with its service, the server forgets the instance.
  const removedId = removed.split('-').pop() as string;
  await waitFor(async () => new RegExp(`instance ${removedId} .*a fresh one takes the next requests`).test(lambda!.output()), 30_000, 'the server to forget the removed instance');
  t.is((await lambda!.fetch('/fn/steady/?name=before')).status, 200, lambda!.output());
  await s.docker(s.manager, ['node', 'update', '--availability', 'active', managerId]);
  const [before] = await instancesOf(swarm!, 'steady');
  t.is((await tasksOf(s, before))[0]?.[0].index, 1, 'the instance runs on the worker');
  // The worker's only link to the other node goes down, as a machine that fails or leaves the network does.
  execFileSync(...privileged('ip', ['-n', `lsw-${s.id}-br`, 'link', 'set', 'v1', 'down']));
  await waitFor(async () => (await s.docker(s.manager, ['node', 'ls', '--format', '{{.Hostname}} {{.Status}}'])).includes('Down'), 120_000, 'the manager to see the worker down');
  await waitFor(async () => lambda!.output().includes('was lost with its node'), 30_000, 'the server to forget the lost instance');
  const after = await lambda!.fetch('/fn/steady/?name=after');
  t.is(after.status, 200, lambda!.output());
  t.deepEqual(await after.json(), { message: 'Hello, after!' });
  const now = (await instancesOf(swarm!, 'steady')).filter((name) => name !== before);
  t.is(now.length, 1);
  const [[node]] = await tasksOf(s, now[0]);
  t.is(node.index, 0, 'the new instance runs on the manager, the only node left');
});
