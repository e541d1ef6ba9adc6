// Cells on a swarm: made on demand (none at rest), each one version's own: the service of an instance of that version
// (its image, its function's network, its memory, hardened the same) booted with a cell's environment and pinned to
// the node its function has least on; a cold start of that version turns it into the instance with one init call.
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { createCellPool, type Cell, type CellEngine, type CellPoolOptions } from '../../instances/cells/cells.js';
import type { CellRecipe } from '../../instances/cells/image.js';
import { LABELS, ownFilter } from '../../instances/labels.js';
import type { InstanceClients } from '../../instances/requests/client.js';
import { initCell } from '../cells/init-call.js';
import { readCellRecord, writeCellRecord, type CellRecord } from '../cells/record.js';
import type { InstanceLogSockets } from '../../instances/log-socket.js';
import type { CellPool, Instance, InstanceSpec, ManagedContainer } from '../../instances/engine.js';
import { hostSocketOf, isInstanceId, newInstanceId } from '../instance-folders.js';
import { envMap } from '../cells/versions.js';
import { cellKey, chooseNode, functionLoad, type NodeEntry, type ServiceEntry, type TaskEntry } from './placement.js';
import { instanceEnv, type CellPlace } from './service.js';


/** What the swarm engine does for its cells as for its instances. */
export interface SwarmCellHost {
  /** Places a service of `spec` as a cell on `cell.node`, resolving once it dialled in and answered its health check. */
  place(spec: InstanceSpec, id: string, cell: CellPlace, onEnd: (reason: string) => void): Promise<Instance>;
  /** Removes instance `id`'s service, its secret and what the host kept for it. */
  remove(id: string): Promise<void>;
  /** An instance's end, reported as the engine reports any. */
  ended(id: string, reason: string): void;
  /** Whether a service's task runs now. */
  running(serviceId: string): Promise<boolean>;
}

export interface SwarmCellsOptions {
  docker: Docker;
  clients: InstanceClients;
  serverId: string;
  region: string;
  /** The instances' host folders (a cell's is the one of the instance it becomes). */
  instancesDir: string;
  /** Holds `<cell id>.json`: what a cell became, for a later server process to adopt it. */
  cellsDir: string;
  /** The runtimes that have cells (a buildpack's cell.json): which start-up variables they read, and what a waiting cell holds. */
  recipes: CellRecipe[];
  /** What the cells may hold together (LAMBDA_POOL_MAX), and where their boots take turns. */
  growth?: Pick<CellPoolOptions, 'maxBytes' | 'boots'>;
  log(line: string): void;
  logs?: Pick<InstanceLogSockets, 'open'>;
  host: SwarmCellHost;
  /** How long an init may take to load a handler. */
  initTimeoutMs?: number;
}

/** The cell pool, with what a swarm adds: a deleted function's cells removed, and which cells became instances. */
export interface SwarmCells extends CellPool {
  /**
   * The function is deleted: removes the waiting cells of every version of `fn`, gives up those being made (their
   * services removed at once) and makes none for it until it starts again (pushed anew).
   */
  forgetFunction(fn: string): void;
  /** Whether cell `id` became an instance (its record says so). */
  became(id: string): boolean;
}

interface SwarmCell extends Cell {
  fn: string;
  memoryBytes: number;
  specialised: boolean;
}

export function createSwarmCells(options: SwarmCellsOptions): SwarmCells {
  const { docker, clients, serverId, host } = options;
  const initTimeoutMs = options.initTimeoutMs ?? 20_000;
  fs.mkdirSync(options.cellsDir, { recursive: true, mode: 0o700 });
  const recordFile = (id: string) => path.join(options.cellsDir, `${id}.json`);
  /** The latest spec seen of each keyed version: what its cells are made from. */
  const specs = new Map<string, InstanceSpec>();
  /** Each image's own environment (a cell's init replaces the whole environment, as a container's env is). */
  const imageEnvs = new Map<string, Promise<string[]>>();
  /** Cells being placed, per node: a burst's cells spread before their services are listed. */
  const placing = new Map<string, number>();
  /** Cells being made, by id: given up when their function is deleted. */
  const making = new Map<string, { fn: string; cancel: AbortController }>();
  /** Deleted functions: no cell is made for them until they start again. */
  const refused = new Set<string>();

  const recipeOf = (key: string) => options.recipes.find((recipe) => recipe.runtime === specs.get(key)?.runtime);

  const imageEnv = (image: string): Promise<string[]> => {
    let found = imageEnvs.get(image);
    if (!found) {
      found = docker.getImage(image).inspect().then((info) => info.Config.Env ?? []);
      found.catch(() => imageEnvs.delete(image));
      imageEnvs.set(image, found);
    }
    return found;
  };

  /** The ready, active node holding the fewest of `fn`'s cells and instances (counting those being placed). */
  const nodeFor = async (fn: string): Promise<string> => {
    const [nodes, services, tasks] = await Promise.all([
      docker.listNodes() as Promise<NodeEntry[]>,
      docker.listServices({ filters: ownFilter(serverId, `${LABELS.fn}=${fn}`) }) as Promise<ServiceEntry[]>,
      docker.listTasks() as Promise<TaskEntry[]>,
    ]);
    const load = functionLoad(services, tasks);
    for (const [node, count] of placing) load.set(node, (load.get(node) ?? 0) + count);
    const node = chooseNode(nodes, load);
    if (!node) throw new Error('no node is ready and active');
    return node;
  };

  const readRecord = (id: string): CellRecord | undefined => readCellRecord(id, recordFile(id));

  const cellServices = async () => {
    const services = await docker.listServices({ filters: ownFilter(serverId, LABELS.cell) });
    return services.map((service) => ({ serviceId: service.ID, id: service.Spec?.Labels?.[LABELS.instance] ?? '' }));
  };

  const keyOf = (spec: InstanceSpec): string | undefined => {
    if (refused.has(spec.fn)) return undefined;
    const key = cellKey(spec, options.recipes);
    if (key !== undefined) specs.set(key, spec);
    return key;
  };

  const engine: CellEngine<SwarmCell> = {
    runtimes: () => [...specs.keys()],
    keyOf,
    cellBytes: (key) => recipeOf(key)?.settings.waitingBytes ?? 32 * 1024 * 1024,

    async create(key, exited) {
      const spec = specs.get(key);
      const runtime = spec?.runtime;
      if (!spec || runtime === undefined) throw new Error(`no version is known for ${key}`);
      if (refused.has(spec.fn)) throw new Error(`${spec.fn} was deleted`);
      const id = newInstanceId();
      const cell: SwarmCell = { id, runtime: key, fn: spec.fn, memoryBytes: spec.memoryBytes, specialised: false };
      const cancel = new AbortController();
      making.set(id, { fn: spec.fn, cancel });
      try {
        const node = await nodeFor(spec.fn);
        // Checked again right before the place, which makes the function's link: a delete may have come meanwhile.
        if (cancel.signal.aborted) throw new Error(`${spec.fn} was deleted`);
        placing.set(node, (placing.get(node) ?? 0) + 1);
        try {
          await host.place(spec, id, { runtime, node, signal: cancel.signal }, (reason) => {
            if (cell.specialised) return host.ended(id, reason);
            // A waiting cell that ended is no one's instance: its service goes, and the pool makes another later.
            void host.remove(id).catch(() => {});
            exited();
          });
        } finally {
          const left = (placing.get(node) ?? 1) - 1;
          if (left > 0) placing.set(node, left);
          else placing.delete(node);
        }
        // Given up after it dialled in: never kept.
        if (cancel.signal.aborted) {
          await host.remove(id).catch(() => {});
          throw new Error(`${spec.fn} was deleted`);
        }
      } finally {
        making.delete(id);
      }
      return cell;
    },

    prepare: async (spec) => keyOf(spec),

    async specialise(cell, spec) {
      // Its service was made for one version: its image, its memory, its function's network.
      if (keyOf(spec) !== cell.runtime || spec.fn !== cell.fn || spec.memoryBytes !== cell.memoryBytes) throw new Error('the cell was made for another version');
      const instance: Instance = { id: cell.id, fn: spec.fn, sha: spec.sha, socketPath: hostSocketOf(options.instancesDir, cell.id) };
      // What a classic instance of this version gets: its image's environment, then the instance's own (its link's included).
      const env = Object.fromEntries([...envMap(await imageEnv(spec.image)), ...envMap(instanceEnv(spec, cell.id, serverId, options.region))]);
      cell.specialised = true;
      options.logs?.open(instance, spec.version);
      await initCell(clients, instance, env, initTimeoutMs);
      await writeCellRecord(recordFile(cell.id), { fn: spec.fn, sha: spec.sha });
      return instance;
    },

    async destroy(cell) {
      await host.remove(cell.id);
      fs.rmSync(recordFile(cell.id), { force: true });
    },

    release(instanceId) {
      if (isInstanceId(instanceId)) fs.rmSync(recordFile(instanceId), { force: true });
    },

    forget(image) {
      specs.delete(image);
      imageEnvs.delete(image);
    },

    async removeAll() {
      // Cells that became instances stay, for reconciliation; waiting ones go, and records of services that are gone.
      const found = await cellServices();
      const gone = found.filter((service) => !readRecord(service.id));
      await Promise.all(gone.map((service) => host.remove(service.id).catch(() => {})));
      const live = new Set(found.map((service) => service.id));
      for (const entry of fs.readdirSync(options.cellsDir)) {
        if (!live.has(entry.replace(/\.json$/, ''))) fs.rmSync(path.join(options.cellsDir, entry), { force: true });
      }
      return gone.length;
    },

    async instances() {
      const instances: ManagedContainer[] = [];
      for (const service of await cellServices()) {
        const record = readRecord(service.id);
        if (!record) continue;
        instances.push({ instanceId: service.id, fn: record.fn, sha: record.sha, running: await host.running(service.serviceId), socketPath: hostSocketOf(options.instancesDir, service.id) });
      }
      return instances;
    },
  };

  // No floor: a swarm keeps no cell of a version nobody calls; its cold starts and its schedules make them.
  const pool = createCellPool(engine, { size: 0, onDemand: true, log: options.log, refillQuietMs: 300, ...options.growth });
  return {
    ...pool,
    start(spec) {
      // A start of a function refused since its delete is the function pushed anew: its cells are made again.
      refused.delete(spec.fn);
      return pool.start(spec);
    },
    forgetFunction(fn) {
      refused.add(fn);
      for (const [key, spec] of specs) if (spec.fn === fn) pool.forget(key);
      // Those being made: their services go now (a cell waiting for its link would hold its function's network).
      for (const [id, cell] of making) {
        if (cell.fn !== fn) continue;
        cell.cancel.abort();
        void host.remove(id).catch(() => {});
      }
    },
    became: (id) => readRecord(id) !== undefined,
    status() {
      // Keyed by version inside; by runtime for the operator, as on one machine.
      const byRuntime: ReturnType<CellPool['status']> = {};
      for (const [key, counts] of Object.entries(pool.status())) {
        const runtime = specs.get(key)?.runtime ?? 'unknown';
        const sum = (byRuntime[runtime] ??= { ready: 0, starting: 0, size: 0 });
        sum.ready += counts.ready;
        sum.starting += counts.starting;
        sum.size += counts.size;
      }
      return byRuntime;
    },
  };
}
