// The swarm mode beside the local engine, in the same run: a cold start of an instance on the worker of a swarm of
// two engines (no instance → first response: a service placed, the image pulled from the registry once, the shim's
// TLS dial through the relay) against the local engine's, and warm requests through the gateway to each (throughput
// with 8 clients, and one at a time: the latency the link adds); then, on a server with cells, a cold start from a
// cell on the worker (the manager paused, so cells and instances go to the worker). `swarmRows()` gives the rows
// bench/run.ts prints; `node --import tsx bench/swarm.ts` runs it alone (root: the engines run in network namespaces).
import { example, requireDocker, startLambda, type Lambda } from '../test/helpers/lambda.js';
import { REGISTRY_PULL, createSwarm, startRegistry, swarmServerEnv, tasksOf, waitFor, type Swarm } from '../test/helpers/swarm.js';
import { useCompiledServer } from './compiled-server.js';
import { load } from './warm-traffic.js';

export interface SwarmFigures {
  /**
   * No instance → first response, ms: on the swarm without cells (and how many rounds' instances ran on the worker),
   * from a waiting cell on the worker (and how many rounds a cell answered), locally from a cell.
   */
  cold: { swarm: number[]; onWorker: number; cell: number[]; fromCell: number; local: number[] };
  /** Requests per second through the gateway, 8 clients; and the p50 of one at a time, ms (means of interleaved rounds). */
  warm: { swarm: { rps: number; p50: number }; local: { rps: number; p50: number } };
}

// One instance (it serves all 8 clients at once), stopped after 1 s idle so each cold round is a real scale from zero.
const MANIFEST = 'runtime: node20\nhandler: index.handler\ntimeout: 10s\nmemory: 128Mi\nidleTimeout: 1s\nconcurrency: 16\nmaxInstances: 1\n';

async function deploy(lambda: Lambda, fn = 'greet'): Promise<void> {
  const push = await lambda.push(fn, example('greet'), { files: { 'lambda.yaml': MANIFEST } });
  if (push.code !== 0) throw new Error(push.stderr);
}

async function firstResponse(lambda: Lambda, fn = 'greet'): Promise<number> {
  const begin = performance.now();
  const response = await lambda.fetch(`/fn/${fn}/?name=bench`);
  await response.text();
  if (response.status !== 200) throw new Error(`a cold start answered ${response.status}`);
  return performance.now() - begin;
}

/** `fn`'s services (instances and cells; `label=lambda.cell`: cells only), by name. */
async function swarmInstances(swarm: Swarm, fn = 'greet', ...filters: string[]): Promise<string[]> {
  const out = await swarm.docker(swarm.manager, ['service', 'ls', '--filter', `label=lambda.function=${fn}`, '--filter', 'label=lambda.managed=true', ...filters.flatMap((f) => ['--filter', f]), '--format', '{{.Name}}']);
  return out.split('\n').filter(Boolean);
}

/** The pool's node20 cells in `state` (ready, starting), as /metrics says. */
async function cellsGauge(lambda: Lambda, state: string): Promise<number> {
  const text = await (await lambda.api('/metrics')).text();
  return Number(new RegExp(`^lambda_cells\\{runtime="node20",state="${state}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}

/** greet, answering with the instance that ran it. */
const SAYS_WHO = 'export const handler = async () => ({ instance: process.env.AWS_LAMBDA_LOG_STREAM_NAME });\n';

/**
 * Cold starts from a cell on the worker: a server with cells (none at rest: the deploy's cold start asks for one), the
 * manager paused once the function's relay runs there, and the cells made before that removed (the pool makes them
 * again, now on the worker only). Each round waits until the instance the last cell became has stopped and a cell
 * waits, and counts the rounds answered by a cell on the worker.
 */
export async function measureCells(swarm: Swarm, env: Record<string, string>, rounds: number, figures: SwarmFigures): Promise<void> {
  const fn = 'cellgreet';
  const lambda = await startLambda({ ...env, LAMBDA_CELLS: '2' });
  const managerId = (await swarm.docker(swarm.manager, ['info', '--format', '{{.Swarm.NodeID}}'])).trim();
  try {
    const push = await lambda.push(fn, example('greet'), { files: { 'lambda.yaml': MANIFEST, 'index.js': SAYS_WHO } });
    if (push.code !== 0) throw new Error(push.stderr);
    await swarm.docker(swarm.manager, ['node', 'update', '--availability', 'pause', managerId]);
    for (const cell of await swarmInstances(swarm, fn, 'label=lambda.cell')) {
      if ((await tasksOf(swarm, cell)).some(([node]) => node.index === 0)) await swarm.docker(swarm.manager, ['service', 'rm', cell]);
    }
    // The cells that became instances: each round waits for the last one to stop for idling.
    const used = new Set<string>();
    for (let round = 0; round < rounds; round++) {
      await waitFor(async () => {
        const [all, cells] = await Promise.all([swarmInstances(swarm, fn), swarmInstances(swarm, fn, 'label=lambda.cell')]);
        return all.length === cells.length && !cells.some((cell) => used.has(cell)) && (await cellsGauge(lambda, 'ready')) >= 1 && (await cellsGauge(lambda, 'starting')) === 0;
      }, 120_000, 'a waiting cell and no instance').catch(async (error: Error) => {
        throw new Error(`${error.message} (services: ${(await swarmInstances(swarm, fn)).join(', ')})\n${lambda.output().slice(-3000)}`);
      });
      const begin = performance.now();
      const response = await lambda.fetch(`/fn/${fn}/`);
      const { instance } = (await response.json()) as { instance?: string };
      figures.cold.cell.push(performance.now() - begin);
      if (response.status !== 200) throw new Error(`a cold start answered ${response.status}`);
      const cell = `lambda-cell-${fn}-${instance}`;
      used.add(cell);
      if ((await swarmInstances(swarm, fn, 'label=lambda.cell')).includes(cell) && (await tasksOf(swarm, cell)).some(([node]) => node.index === 1)) figures.cold.fromCell += 1;
    }
  } finally {
    await swarm.docker(swarm.manager, ['node', 'update', '--availability', 'active', managerId]).catch(() => undefined);
    await lambda.destroy().catch(() => undefined);
  }
}

const sender = (lambda: Lambda) => async () => {
  const response = await lambda.fetch('/fn/greet/?name=bench');
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`a warm request answered ${response.status}`);
};

/** Both warmed, then measured in interleaved rounds, so that a slow spell of the shared machine does not fall on one only. */
async function warm(servers: Lambda[], rounds = 3): Promise<Array<{ rps: number; p50: number }>> {
  const sends = servers.map(sender);
  for (const send of sends) await load(send, 2000, 8);
  const figures = servers.map(() => ({ rps: 0, p50: 0 }));
  for (let round = 0; round < rounds; round++) {
    for (const [index, send] of sends.entries()) {
      figures[index].rps += (await load(send, 3000, 8)).rps / rounds;
      figures[index].p50 += (await load(send, 2000, 1)).p50 / rounds;
    }
  }
  return figures;
}

export async function measureSwarm(rounds = 5): Promise<SwarmFigures> {
  const swarm = await createSwarm({ nodes: 2, insecureRegistries: [REGISTRY_PULL] });
  let onSwarm: Lambda | undefined;
  let local: Lambda | undefined;
  try {
    const registry = await startRegistry(swarm);
    const env = await swarmServerEnv(swarm, registry.push);
    onSwarm = await startLambda({ ...env, LAMBDA_CELLS: '0' });
    local = await startLambda();
    await deploy(onSwarm);
    await deploy(local);
    const figures: SwarmFigures = { cold: { swarm: [], onWorker: 0, cell: [], fromCell: 0, local: [] }, warm: { swarm: { rps: 0, p50: 0 }, local: { rps: 0, p50: 0 } } };
    const s = swarm;
    const l = local;
    for (let round = 0; round < rounds; round++) {
      await waitFor(async () => (await swarmInstances(s)).length === 0, 60_000, 'the swarm instance to stop');
      figures.cold.swarm.push(await firstResponse(onSwarm));
      const [service] = await swarmInstances(s);
      if (service && (await tasksOf(s, service)).some(([node]) => node.index === 1)) figures.cold.onWorker += 1;
      await waitFor(async () => (await l.containers('greet')).length === 0, 60_000, 'the local instance to stop');
      figures.cold.local.push(await firstResponse(l));
    }
    [figures.warm.swarm, figures.warm.local] = await warm([onSwarm, local]);
    // One server at a time on the swarm's two cores.
    await onSwarm.destroy();
    onSwarm = undefined;
    await measureCells(swarm, env, rounds, figures);
    return figures;
  } finally {
    await onSwarm?.destroy().catch(() => undefined);
    await local?.destroy().catch(() => undefined);
    swarm.destroy();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const show = (values: number[]) => `p50 ${median(values).toFixed(1)} ms, min ${Math.min(...values).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms (n=${values.length})`;

/** A row as bench/run.ts prints it. */
export interface SwarmRow {
  figure: string;
  measured: string;
  target: string;
  baseline: string;
}

/** The swarm mode's rows beside the local engine's (the caller has checked for Docker and chosen the server's entry). */
export async function swarmRows(rounds = Number(process.env.ROUNDS ?? 5)): Promise<SwarmRow[]> {
  const figures = await measureSwarm(rounds);
  const p50 = (values: number[]) => `p50 ${median(values).toFixed(0)} ms`;
  return [
    { figure: 'swarm: cold start from a cell on a worker', measured: `${p50(figures.cold.cell)} (a cell on the worker ${figures.cold.fromCell}/${figures.cold.cell.length})`, target: '—', baseline: `no cell, on the worker: ${p50(figures.cold.swarm)}; local cell: ${p50(figures.cold.local)}` },
    { figure: 'swarm: warm throughput through the gateway to a worker (8 clients)', measured: `${figures.warm.swarm.rps.toFixed(0)} req/s`, target: '—', baseline: `local: ${figures.warm.local.rps.toFixed(0)} req/s` },
    { figure: 'swarm: added latency per request (one at a time, p50)', measured: `${(figures.warm.swarm.p50 - figures.warm.local.p50).toFixed(2)} ms`, target: '—', baseline: `local p50 ${figures.warm.local.p50.toFixed(2)} ms, swarm ${figures.warm.swarm.p50.toFixed(2)} ms` },
  ];
}

if (process.argv[1]?.endsWith('swarm.ts')) {
  await requireDocker();
  await useCompiledServer();
  const figures = await measureSwarm(Number(process.env.ROUNDS ?? 5));
  console.log(`cold start, swarm (instance on the worker ${figures.cold.onWorker}/${figures.cold.swarm.length}): ${show(figures.cold.swarm)}`);
  console.log(`cold start, swarm from a cell on the worker (${figures.cold.fromCell}/${figures.cold.cell.length}): ${show(figures.cold.cell)}`);
  console.log(`cold start, local engine (cells):                 ${show(figures.cold.local)}`);
  console.log(`warm through the gateway, swarm worker: ${figures.warm.swarm.rps.toFixed(0)} req/s (8 clients), one at a time p50 ${figures.warm.swarm.p50.toFixed(2)} ms`);
  console.log(`warm through the gateway, local engine: ${figures.warm.local.rps.toFixed(0)} req/s (8 clients), one at a time p50 ${figures.warm.local.p50.toFixed(2)} ms`);
  console.log(`added latency per request on the swarm: ${(figures.warm.swarm.p50 - figures.warm.local.p50).toFixed(2)} ms`);
}
