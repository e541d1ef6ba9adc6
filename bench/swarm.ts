// The swarm mode beside the local engine, in the same run: a cold start of an instance on the worker of a swarm of
// two engines (no instance → first response: a service placed, the image pulled from the registry once, the shim's
// TLS dial through the relay) against the local engine's, and warm requests through the gateway to each (throughput
// with 8 clients, and one at a time: the latency the link adds). `node --import tsx bench/swarm.ts` runs it alone
// (root: the swarm's engines run in network namespaces).
import { example, requireDocker, startLambda, type Lambda } from '../test/helpers/lambda.js';
import { REGISTRY_PULL, createSwarm, startRegistry, tasksOf, waitFor, type Swarm } from '../test/helpers/swarm.js';
import { useCompiledServer } from './compiled-server.js';
import { load } from './warm-traffic.js';

export interface SwarmFigures {
  /** No instance → first response, ms: on the swarm (and how many rounds' instances ran on the worker), locally. */
  cold: { swarm: number[]; onWorker: number; local: number[] };
  /** Requests per second through the gateway, 8 clients; and the p50 of one at a time, ms (means of interleaved rounds). */
  warm: { swarm: { rps: number; p50: number }; local: { rps: number; p50: number } };
}

// One instance (it serves all 8 clients at once), stopped after 1 s idle so each cold round is a real scale from zero.
const MANIFEST = 'runtime: node20\nhandler: index.handler\ntimeout: 10s\nmemory: 128Mi\nidleTimeout: 1s\nconcurrency: 16\nmaxInstances: 1\n';

async function deploy(lambda: Lambda): Promise<void> {
  const push = await lambda.push('greet', example('greet'), { files: { 'lambda.yaml': MANIFEST } });
  if (push.code !== 0) throw new Error(push.stderr);
}

async function firstResponse(lambda: Lambda): Promise<number> {
  const begin = performance.now();
  const response = await lambda.fetch('/fn/greet/?name=bench');
  await response.text();
  if (response.status !== 200) throw new Error(`a cold start answered ${response.status}`);
  return performance.now() - begin;
}

async function swarmInstances(swarm: Swarm): Promise<string[]> {
  const out = await swarm.docker(swarm.manager, ['service', 'ls', '--filter', 'label=lambda.function=greet', '--filter', 'label=lambda.managed=true', '--format', '{{.Name}}']);
  return out.split('\n').filter(Boolean);
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
    onSwarm = await startLambda({ DOCKER_HOST: swarm.manager.host, LAMBDA_ENGINE: 'swarm', LAMBDA_SWARM_REGISTRY_PULL: REGISTRY_PULL, LAMBDA_SWARM_REGISTRY_PUSH: registry.push, LAMBDA_SWARM_REGISTRY_DIR: registry.storageDir, LAMBDA_CELLS: '0' });
    local = await startLambda();
    await deploy(onSwarm);
    await deploy(local);
    const figures: SwarmFigures = { cold: { swarm: [], onWorker: 0, local: [] }, warm: { swarm: { rps: 0, p50: 0 }, local: { rps: 0, p50: 0 } } };
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
    return figures;
  } finally {
    await onSwarm?.destroy().catch(() => undefined);
    await local?.destroy().catch(() => undefined);
    swarm.destroy();
  }
}

if (process.argv[1]?.endsWith('swarm.ts')) {
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const show = (values: number[]) => `p50 ${median(values).toFixed(1)} ms, min ${Math.min(...values).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms (n=${values.length})`;
  await requireDocker();
  await useCompiledServer();
  const figures = await measureSwarm(Number(process.env.ROUNDS ?? 5));
  console.log(`cold start, swarm (instance on the worker ${figures.cold.onWorker}/${figures.cold.swarm.length}): ${show(figures.cold.swarm)}`);
  console.log(`cold start, local engine (cells):                 ${show(figures.cold.local)}`);
  console.log(`warm through the gateway, swarm worker: ${figures.warm.swarm.rps.toFixed(0)} req/s (8 clients), one at a time p50 ${figures.warm.swarm.p50.toFixed(2)} ms`);
  console.log(`warm through the gateway, local engine: ${figures.warm.local.rps.toFixed(0)} req/s (8 clients), one at a time p50 ${figures.warm.local.p50.toFixed(2)} ms`);
  console.log(`added latency per request on the swarm: ${(figures.warm.swarm.p50 - figures.warm.local.p50).toFixed(2)} ms`);
}
