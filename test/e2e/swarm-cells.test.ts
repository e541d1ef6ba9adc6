// End to end, cells on a swarm of two engines: a version's cold start makes a cell of it (a service of that version,
// waiting), which answers its next cold start with one init call, and `lambda nodes` counts it as a cell, then as an
// instance; a cell's identity opens no other function's link; deleting a function while its cell is being made
// leaves nothing of it; a restart removes the waiting cells and adopts the one that became an instance.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { example, type Lambda } from '../helpers/lambda.js';
import { addressOn, startSwarmLambda, tasksOf, waitFor, type Swarm } from '../helpers/swarm.js';
import { RELAY_PORT, functionNetwork } from '../../server/engine/swarm/link.js';
import { linkFolder } from '../../server/engine/swarm/gateway.js';

let swarm: Swarm | undefined;
let lambda: Lambda | undefined;
let destroy: (() => Promise<void>) | undefined;
/** The cell of greet that answered its second call (the first test). */
let usedCell = '';

const manifest = (idle: string) => `runtime: node20\nhandler: index.handler\ntimeout: 10s\nmemory: 128Mi\nidleTimeout: ${idle}\nenv:\n  GREETING: hi\n`;
// Says which instance answered, and what the function was given.
const HANDLER = `export const handler = async () => ({
  instance: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
  fn: process.env.AWS_LAMBDA_FUNCTION_NAME,
  memory: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  greeting: process.env.GREETING ?? null,
  cell: process.env.LAMBDA_CELL ?? null,
});
`;

test.before(async () => {
  ({ swarm, lambda, destroy } = await startSwarmLambda({ LAMBDA_CELLS: '2' }));
});

test.after.always(async () => {
  await destroy?.();
});

interface Service {
  name: string;
  cell: boolean;
}

/** `fn`'s services: its instances and its cells (labelled `lambda.cell`), by name; not its relay. */
async function servicesOf(fn: string): Promise<Service[]> {
  const list = async (...filters: string[]) =>
    (await swarm!.docker(swarm!.manager, ['service', 'ls', '--filter', `label=lambda.function=${fn}`, '--filter', 'label=lambda.managed=true', ...filters.flatMap((f) => ['--filter', f]), '--format', '{{.Name}}'])).split('\n').filter(Boolean);
  const cells = new Set(await list('label=lambda.cell'));
  return (await list()).map((name) => ({ name, cell: cells.has(name) }));
}

const idOf = (service: string) => service.split('-').pop() as string;

/** The pool's gauge for node20 cells in `state`, as /metrics says. */
async function cellsGauge(state: string): Promise<number> {
  const text = await (await lambda!.api('/metrics')).text();
  return Number(new RegExp(`^lambda_cells\\{runtime="node20",state="${state}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? -1);
}

async function call(fn: string): Promise<{ status: number; body: Record<string, string | null> }> {
  const response = await lambda!.fetch(`/fn/${fn}/`);
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as Record<string, string | null> };
  } catch {
    return { status: response.status, body: { text } };
  }
}

async function push(fn: string, idle: string): Promise<void> {
  const pushed = await lambda!.push(fn, example('greet'), { files: { 'lambda.yaml': manifest(idle), 'index.js': HANDLER } });
  if (pushed.code !== 0) throw new Error(`${pushed.stderr}\n${lambda!.output()}`);
}

/** `lambda nodes --json`: per node id, its instances and cells. */
async function nodeCounts(): Promise<Map<string, { instances: number; cells: number }>> {
  const shown = await lambda!.cli(['nodes', '--json']);
  if (shown.code !== 0) throw new Error(shown.stderr);
  return new Map((JSON.parse(shown.stdout) as Array<{ id: string; instances: number; cells: number }>).map((row) => [row.id, { instances: row.instances, cells: row.cells }]));
}

/** The swarm node id of node `index` (0: the manager). */
const nodeIdOf = async (index: number) => (await swarm!.docker(swarm!.nodes[index], ['info', '--format', '{{.Swarm.NodeID}}'])).trim();

/** Runs Node's code as the function's user inside `service`'s task; what it printed. */
async function inTask(service: string, code: string): Promise<string> {
  const [[node, container]] = await tasksOf(swarm!, service);
  return (await swarm!.docker(node, ['exec', container, 'node', '-e', code], { timeoutMs: 30_000 })).trim();
}

/**
 * From inside `service`'s task: a TLS dial of its function's relay (pinning the authority), the dial-in line
 * `<id> <secret>`, then whether the gateway kept the connection (`open`) or closed it unanswered (`closed`).
 */
function dialInFrom(service: string, id: string, secret: string): Promise<string> {
  return inTask(service, `const s = require('tls').connect({ host: 'lambda-gateway', port: ${RELAY_PORT}, ca: require('fs').readFileSync('/run/lambda/authority.pem') });
    s.on('secureConnect', () => { s.write(${JSON.stringify(`${id} ${secret}\n`)}); setTimeout(() => { console.log('open'); process.exit(0); }, 2000); });
    s.on('close', () => { console.log('closed'); process.exit(0); });
    s.on('error', (e) => { console.log(e.code || e.message); process.exit(0); });`);
}

test.serial("a version's cold start makes a cell of it on the swarm; once its instance stopped, the next call is answered by that cell", async (t) => {
  t.timeout(600_000);
  await push('greet', '3s');
  const first = await call('greet');
  t.is(first.status, 200, lambda!.output());
  const classic = (await servicesOf('greet')).find((service) => idOf(service.name) === first.body.instance);
  t.false(classic?.cell ?? true, 'the first call: an instance of a classic start (the deploy\'s)');

  // Its cold start was demand: one cell of this version.
  await waitFor(async () => (await servicesOf('greet')).some((service) => service.cell), 120_000, "a cell of greet's version");
  await waitFor(async () => (await cellsGauge('ready')) === 1, 120_000, 'the cell to be ready');
  const [cell] = (await servicesOf('greet')).filter((service) => service.cell);
  usedCell = cell.name;
  const [[cellNode]] = await tasksOf(swarm!, cell.name);
  const [[instanceNode]] = await tasksOf(swarm!, classic!.name);
  t.log(`the instance ran on node ${instanceNode.index}, the cell on node ${cellNode.index}`);
  t.is(await inTask(cell.name, 'console.log(process.env.LAMBDA_CELL, process.env.GREETING ?? "none", process.env.LAMBDA_HANDLER ?? "none")'), '1 none none', 'a waiting cell has none of its function\'s settings');

  await waitFor(async () => !(await servicesOf('greet')).some((service) => !service.cell), 60_000, "greet's instance to stop");
  // lambda nodes: the waiting cell counts as a cell on its node (its labels are an instance's too), no instance runs.
  const [cellNodeId, otherNodeId] = [await nodeIdOf(cellNode.index), await nodeIdOf(1 - cellNode.index)];
  await waitFor(async () => (await nodeCounts()).get(otherNodeId)?.instances === 0, 30_000, "the stopped instance's task to leave the count");
  const waitingCounts = await nodeCounts();
  t.deepEqual([waitingCounts.get(cellNodeId), waitingCounts.get(otherNodeId)], [{ instances: 0, cells: 1 }, { instances: 0, cells: 0 }]);
  const second = await call('greet');
  t.is(second.status, 200, lambda!.output());
  t.deepEqual(second.body, { instance: idOf(cell.name), fn: 'greet', memory: '128', greeting: 'hi', cell: null }, 'answered by the cell, specialised with the function\'s settings');
  t.true((await servicesOf('greet')).some((service) => service.name === cell.name), 'the same service, not a new one');
  // Now an instance on its node; the cell its cold start asks for next is never counted as one.
  const usedCounts = await nodeCounts();
  t.deepEqual([usedCounts.get(cellNodeId)?.instances, usedCounts.get(otherNodeId)?.instances], [1, 0]);
  await waitFor(async () => {
    const lines = (await (await lambda!.api('/api/v1/functions/greet/logs')).text()).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { instance?: string; text: string });
    const own = lines.filter((line) => line.instance === idOf(cell.name));
    return own.some((line) => line.text.startsWith('START RequestId')) && own.some((line) => line.text.startsWith('REPORT RequestId'));
  }, 20_000, "the cell's START and REPORT lines in greet's log");
});

test.serial("a cell's identity opens no other function's link, and its network reaches no other relay", async (t) => {
  t.timeout(300_000);
  await push('other', '5m');
  t.is((await call('other')).status, 200, lambda!.output());
  const otherInstance = (await servicesOf('other')).find((service) => !service.cell)!.name;
  // A waiting cell of greet: its cold start from a cell asked for the next one.
  const waitingCell = async () => (await servicesOf('greet')).find((service) => service.cell && service.name !== usedCell)?.name;
  await waitFor(async () => (await waitingCell()) !== undefined && (await cellsGauge('starting')) === 0, 120_000, 'a waiting cell of greet');
  const waiting = (await waitingCell())!;
  const cellSecret = await inTask(waiting, "console.log(require('fs').readFileSync('/run/secrets/lambda-instance', 'utf8').trim())");
  t.regex(cellSecret, /^\S{16,}$/);
  const ownSecret = await inTask(otherInstance, "console.log(require('fs').readFileSync('/run/secrets/lambda-instance', 'utf8').trim())");

  // The dial-in works from there with the instance's own identity: the refusal below is the cell's identity's.
  t.is(await dialInFrom(otherInstance, idOf(otherInstance), ownSecret), 'open');
  t.is(await dialInFrom(otherInstance, idOf(waiting), cellSecret), 'closed', "greet's cell's id and secret at other's relay");
  const [[relayNode, relay]] = await tasksOf(swarm!, 'lambda-relay-other');
  const otherRelay = await addressOn(swarm!, relayNode, relay, functionNetwork('other'));
  t.regex(await inTask(waiting, `const s = require('net').connect(${RELAY_PORT}, ${JSON.stringify(otherRelay)}); s.setTimeout(3000);
    s.on('connect', () => { console.log('connected'); s.destroy(); });
    s.on('timeout', () => { console.log('timeout'); s.destroy(); });
    s.on('error', (e) => console.log(e.code || e.message));`), /EHOSTUNREACH|ENETUNREACH|timeout/, "a cell of greet reaches not other's relay");
});

test.serial('a server restart removes the waiting cells and adopts the cell that became an instance', async (t) => {
  t.timeout(600_000);
  const s = swarm!;
  await push('steady', '5m');
  t.is((await call('steady')).status, 200, lambda!.output());
  const [classic] = (await servicesOf('steady')).filter((service) => !service.cell);
  await waitFor(async () => (await servicesOf('steady')).some((service) => service.cell), 120_000, 'a cell of steady');
  const [cell] = (await servicesOf('steady')).filter((service) => service.cell);
  // Its instance goes behind the server's back (idling would take 5 minutes); the next call is a cold start.
  await s.docker(s.manager, ['service', 'rm', classic.name]);
  await waitFor(async () => new RegExp(`instance ${idOf(classic.name)} .*a fresh one takes the next requests`).test(lambda!.output()), 30_000, 'the server to forget the removed instance').catch(async (error: Error) => {
    throw new Error(`${error.message}\n${classic.name}\n${JSON.stringify(await servicesOf('steady'))}\n${lambda!.output().split('\n').filter((line) => !line.includes('/metrics')).slice(-30).join('\n')}`);
  });
  // Made once its service exists and no cell is starting: then it dialled in and is ready (or failed, and the call below says so).
  await waitFor(async () => (await cellsGauge('starting')) === 0, 120_000, "steady's cell to be ready");
  const answered = await call('steady');
  t.is(answered.status, 200, lambda!.output());
  t.is(answered.body.instance, idOf(cell.name), 'answered by the cell');
  // Its cold start asks for another, which waits.
  await waitFor(async () => (await servicesOf('steady')).filter((service) => service.cell).length === 2, 120_000, 'a waiting cell of steady');
  const waiting = (await servicesOf('steady')).find((service) => service.cell && service.name !== cell.name)!.name;

  await lambda!.restart('SIGKILL');
  const after = await call('steady');
  t.is(after.status, 200, lambda!.output());
  t.is(after.body.instance, idOf(cell.name), 'the cell that became an instance, adopted');
  const names = (await servicesOf('steady')).map((service) => service.name);
  t.true(names.includes(cell.name));
  t.false(names.includes(waiting), 'the waiting cell was removed');
  t.deepEqual((await servicesOf('greet')).filter((service) => service.cell), [], "greet's waiting cell too");
});

/** What the swarm and the data folder hold of `fn`: its services, networks, secrets, link folder and relay certificate. */
async function leftOf(fn: string): Promise<Record<string, string[] | boolean>> {
  const data = path.join(lambda!.dataDir, 'data');
  return {
    services: await namesOf('service', `lambda.function=${fn}`),
    networks: await namesOf('network', `lambda.function=${fn}`),
    secrets: await namesOf('secret', `lambda.function=${fn}`),
    folder: fs.existsSync(path.join(data, 'links', linkFolder(fn))),
    certificate: fs.existsSync(path.join(data, 'swarm', 'relays', `${fn}.pem`)) || fs.existsSync(path.join(data, 'swarm', 'relays', `${fn}.key`)),
  };
}

/** The manager's `docker <kind> ls` names carrying every one of `labels`. */
async function namesOf(kind: string, ...labels: string[]): Promise<string[]> {
  const out = await swarm!.docker(swarm!.manager, [kind, 'ls', ...labels.flatMap((label) => ['--filter', `label=${label}`]), '--format', '{{.Name}}']);
  return out.split('\n').filter(Boolean);
}

/** This server's instance secrets whose instance has no service (a cell given up that left its secret). */
async function orphanSecrets(): Promise<string[]> {
  const orphans: string[] = [];
  for (const name of await namesOf('secret', `lambda.server=${lambda!.serverId()}`, 'lambda.instance')) {
    if ((await namesOf('service', `lambda.instance=${name.replace('lambda-instance-', '')}`)).length === 0) orphans.push(name);
  }
  return orphans;
}

test.serial('deleting a function while its cell is being made leaves nothing of it, and answers at once', async (t) => {
  t.timeout(600_000);
  await waitFor(async () => (await cellsGauge('starting')) <= 0, 120_000, 'no cell starting');
  await push('race', '3s');
  // Its deploy's start asked for a cell; once that waits and the instance stopped, a call is answered by the cell and
  // asks for the next one, which the delete comes in the middle of.
  await waitFor(async () => {
    const services = await servicesOf('race');
    return services.some((service) => service.cell) && !services.some((service) => !service.cell) && (await cellsGauge('starting')) === 0;
  }, 120_000, "race's cell to wait and its instance to stop");
  t.is((await call('race')).status, 200, lambda!.output());
  let starting = 0;
  for (const until = Date.now() + 30_000; starting < 1 && Date.now() < until; await new Promise((resolve) => setTimeout(resolve, 20))) starting = await cellsGauge('starting');
  t.true(starting >= 1, 'a cell of race is being made');
  const began = Date.now();
  const deleted = await lambda!.api('/api/v1/functions/race', { method: 'DELETE' });
  const tookMs = Date.now() - began;
  t.is(deleted.status, 200, lambda!.output());
  // Its network's removal used to give up on the cell's service, which waited 60 s for a relay that was gone, and left
  // the network and the certificate (checked here and below); how long the delete took is shown, never asserted.
  t.log(`the delete took ${tookMs} ms`);
  const nothing = { services: [], networks: [], secrets: [], folder: false, certificate: false };
  t.deepEqual(await leftOf('race'), nothing);
  // Nor does the cell that was being made bring the function's link back once it gave up, nor leave its secret.
  await waitFor(async () => /cell failed \(.*was deleted/.test(lambda!.output()), 60_000, 'the cell being made to give up');
  t.deepEqual(await leftOf('race'), nothing);
  t.deepEqual(await orphanSecrets(), []);
  t.notRegex(lambda!.output(), /could not remove the link of deleted function race/);
});
