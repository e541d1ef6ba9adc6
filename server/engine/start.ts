// The engine as this server starts it: Docker reached and checked, cells when asked for, the engine over both,
// and the process limit its cgroup driver allows Dockerfile builds.
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import type { InstanceClients } from '../instances/requests/client.js';
import type { CellRecipe } from '../instances/cells/image.js';
import type { CellPool, Engine } from '../instances/engine.js';
import type { InstanceExits } from '../instances/exits.js';
import type { InstanceLogSockets } from '../instances/log-socket.js';
import { createDockerCells } from './cells/cells.js';
import { createDockerEngine } from './docker.js';
import { dockerImages } from './images.js';
import { createBootLimiter } from '../instances/boots.js';
import { createSwarmEngine } from './swarm/engine.js';

/** What making a base image asks of the engine. */
export type BaseImageEngine = Pick<Engine, 'imageExists' | 'importImage'>;

export interface EngineOptions {
  clients: InstanceClients;
  dataDir: string;
  serverId: string;
  region: string;
  /** Cells kept ready per runtime at rest (0: none). */
  cells: number;
  /** Bytes the cells above that may hold together (LAMBDA_POOL_MAX). */
  poolMaxBytes?: number;
  /** Containers booting at once, classic starts and cells together (LAMBDA_BOOTS; 0: twice the machine's cores). */
  boots?: number;
  /** The most versions' files kept for cells may take (LAMBDA_MAX_CELL_FILES). */
  cellFilesBytes: number;
  /** The cells' recipes, given the image calls a base image is made with (the engine is not built yet). */
  recipes(images: BaseImageEngine): CellRecipe[];
  logs: InstanceLogSockets;
  /** Where the engine and the cells report an instance's end. */
  exits: InstanceExits;
  /** A warning line (a cell that failed to start). */
  warn(line: string): void;
  /** `swarm`: instances run as services of the swarm the engine manages (LAMBDA_ENGINE); `local` when unset. */
  kind?: 'local' | 'swarm';
  /** The registry's sides, in swarm mode. */
  registry?: { push: string; pull?: string; dir?: string; collectEvery?: number; nodeSocket?: string };
}

/**
 * The engine (DOCKER_HOST, else dockerode's default socket); throws a line saying how to start one when none answers,
 * and in swarm mode how to make it a swarm's manager when it is not one.
 */
export async function connectDocker(kind: 'local' | 'swarm' = 'local'): Promise<Docker> {
  const docker = new Docker();
  await docker.ping().catch((error: Error) => {
    throw new Error(`no Docker engine answers (${error.message}); run scripts/ensure-docker.sh or start dockerd`);
  });
  if (kind === 'swarm') {
    const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
    if (!info.Swarm?.ControlAvailable) {
      const where = process.env.DOCKER_HOST ? `the engine at DOCKER_HOST=${process.env.DOCKER_HOST}` : "this machine's engine";
      throw new Error(`LAMBDA_ENGINE=swarm: ${where} is not a swarm's manager (its swarm: ${info.Swarm?.LocalNodeState || 'unknown'}); run \`docker swarm init --advertise-addr <this machine's address>\` there, or set DOCKER_HOST to the manager's engine (docs/operations.md, "More than one machine")`);
    }
  }
  return docker;
}

/** The Docker engine, over pre-started cells of each runtime that has them (a cold start then specialises one). */
export function createEngine(docker: Docker, options: EngineOptions): { engine: Engine; cells?: CellPool } {
  if (options.kind === 'swarm') {
    const pull = options.registry?.pull;
    if (!pull) throw new Error("LAMBDA_ENGINE=swarm needs LAMBDA_SWARM_REGISTRY_PULL: the registry's read side, as every node reaches it");
    // Cells on a swarm are made on demand, one version's each (none at rest: LAMBDA_CELLS only turns them off with 0).
    const cells = options.cells > 0 ? { recipes: options.recipes(dockerImages(docker)), growth: { maxBytes: options.poolMaxBytes }, log: options.warn } : undefined;
    const engine = createSwarmEngine({ docker, clients: options.clients, dataDir: options.dataDir, serverId: options.serverId, region: options.region, logs: options.logs, onExit: options.exits.ended, warn: options.warn, registry: { ...options.registry, push: options.registry?.push ?? '127.0.0.1:5001', pull }, cells });
    return { engine, cells: engine.cells };
  }
  const instancesDir = path.join(options.dataDir, 'instances');
  // One bound for both kinds of boot: they compete for the same cores. Twice the cores: a boot also waits on the
  // engine, and a tighter bound measured a worse slowest start under load.
  const boots = createBootLimiter(options.boots || 2 * os.availableParallelism());
  const common = { docker, clients: options.clients, instancesDir, serverId: options.serverId, region: options.region, logs: options.logs, onExit: options.exits.ended };
  const cells =
    options.cells > 0
      ? createDockerCells({ ...common, cellsDir: path.join(options.dataDir, 'cells'), size: options.cells, filesBytes: options.cellFilesBytes, growth: { maxBytes: options.poolMaxBytes, boots }, recipes: options.recipes(dockerImages(docker)), log: options.warn })
      : undefined;
  return { engine: createDockerEngine({ ...common, cells, boots }), cells };
}

/**
 * The process limit Dockerfile builds get: they are bounded by a cgroup made under /sys/fs/cgroup, which only the
 * engine's cgroupfs driver takes as a parent; under the systemd driver (docker.service on most hosts) a parent must
 * be a slice, so there they run without one (0).
 */
export async function buildPidsLimit(docker: Docker, configured: number, warn: (line: string) => void): Promise<number> {
  const { CgroupDriver: cgroupDriver } = (await docker.info()) as { CgroupDriver?: string };
  if (cgroupDriver !== 'systemd' || configured === 0) return configured;
  warn('the engine uses the systemd cgroup driver: Dockerfile builds run without a process limit (memory, one CPU, file size and time still bound them)');
  return 0;
}
