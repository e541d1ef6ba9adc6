// The Docker side of the stem-cell pool: cell containers hardened exactly as instances are (same container
// config), and turning one into an instance of a version: its files (versions.ts) linked into the cell's own
// read-only task folder (and extra folders: python3's requirements), its memory limit, one init call carrying the
// cell's secret.
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { createCellPool, type Cell, type CellEngine, type CellPoolOptions } from '../../instances/cells/cells.js';
import type { CellRecipe } from '../../instances/cells/image.js';
import { createCellVersions, envMap, extraDir } from './versions.js';
import { LABELS, ownFilter } from '../../instances/labels.js';
import { cellConfig, containerConfig, NOT_A_FUNCTION } from '../container-config.js';
import { isAlive, removeContainer, startWithSecret, watchExit, withSecretStdin } from '../containers.js';
import { hostSocketOf, isInstanceId, makeHostFolder, newInstanceId, removeInstanceFolder } from '../instance-folders.js';
import type { InstanceClients } from '../../instances/requests/client.js';
import { initCell } from './init-call.js';
import { readCellRecord, writeCellRecord, type CellRecord } from './record.js';
import type { InstanceLogSockets } from '../../instances/log-socket.js';
import type { CellPool, Instance, ManagedContainer } from '../../instances/engine.js';

/** Warm-up calls a new cell answers before it waits in the pool (three leave the first real request ~3 ms, not ~15). */
const WARM_UP_CALLS = 3;
const RENAME_AFTER_MS = 1000;

export interface DockerCellsOptions {
  docker: Docker;
  clients: InstanceClients;
  /** The instances' socket folders (a cell's is the one of the instance it becomes). */
  instancesDir: string;
  /**
   * Holds `tasks/<cell id>` (each cell's task folder, and beside it `<cell id>.json`, what it became, and
   * `<cell id>.<folder>`, its extra folders),
   * `versions/<image id>` (each version's files, hard links into `store/`, which holds each distinct file once),
   * `staged/` (link trees made ahead) and `build/` (image contexts).
   */
  cellsDir: string;
  serverId: string;
  region: string;
  recipes: CellRecipe[];
  /** Ready cells per runtime at rest (LAMBDA_CELLS); 0 disables the pool. */
  size: number;
  /** What the cells above the floor may hold (LAMBDA_POOL_MAX), and where their boots take turns. */
  growth?: Pick<CellPoolOptions, 'maxBytes' | 'boots'>;
  /** The most versions' files (`versions/` and `store/`, each distinct file once) may take (LAMBDA_MAX_CELL_FILES). */
  filesBytes: number;
  log(line: string): void;
  /** How long a cell may take to boot, and its init call to load a handler. */
  startTimeoutMs?: number;
  /** Told when an instance made from a cell ends, as DockerEngineOptions.onExit. */
  onExit?(instanceId: string, reason: string): void;
  /** Where an instance's output is received: opened before its handler loads, as for a classic instance. */
  logs?: Pick<InstanceLogSockets, 'open' | 'close'>;
}

interface DockerCell extends Cell {
  container: Docker.Container;
  socketDir: string;
  taskDir: string;
  /** The host folders mounted read-only at the recipe's extra folders, empty until specialised. */
  extraDirs: string[];
  memoryBytes: number;
  specialised: boolean;
}

export function createDockerCells(options: DockerCellsOptions): CellPool {
  const { docker, clients, serverId, region } = options;
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const tasksDir = path.join(options.cellsDir, 'tasks');
  for (const dir of [options.cellsDir, tasksDir]) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const runtimes = options.recipes.map((recipe) => recipe.runtime);

  const versions = createCellVersions({
    docker,
    versionsDir: path.join(options.cellsDir, 'versions'),
    storeDir: path.join(options.cellsDir, 'store'),
    maxBytes: options.filesBytes,
    log: options.log,
    stagedDir: path.join(options.cellsDir, 'staged'),
    buildDir: path.join(options.cellsDir, 'build'),
    recipes: options.recipes,
    filesLabels: { ...NOT_A_FUNCTION, [LABELS.server]: serverId, [LABELS.cell]: 'files' },
  });

  /** A cell's task folder, its extra folders and the record of what it became. */
  const dropTask = (id: string): void => {
    fs.rmSync(path.join(tasksDir, id), { recursive: true, force: true });
    for (const entry of fs.readdirSync(tasksDir)) if (entry.startsWith(`${id}.`)) fs.rmSync(path.join(tasksDir, entry), { recursive: true, force: true });
  };

  const removeCell = async (cell: Pick<DockerCell, 'id'>, containerId?: string): Promise<void> => {
    await clients.destroy(cell.id);
    options.logs?.close(cell.id);
    if (containerId) await removeContainer(docker, containerId);
    removeInstanceFolder(options.instancesDir, cell.id);
    dropTask(cell.id);
  };

  const engine: CellEngine<DockerCell> = {
    runtimes: () => runtimes,
    cellBytes: (runtime) => options.recipes.find((recipe) => recipe.runtime === runtime)?.settings.waitingBytes ?? 32 * 1024 * 1024,

    async create(runtime, exited) {
      const cellImage = await versions.runtimeImage(runtime);
      const { settings } = cellImage.recipe;
      const id = newInstanceId();
      const cell: DockerCell = {
        id,
        runtime,
        container: undefined as unknown as Docker.Container,
        socketDir: path.join(options.instancesDir, id),
        taskDir: path.join(tasksDir, id),
        extraDirs: settings.extraFolders.map((folder) => extraDir(path.join(tasksDir, id), folder)),
        memoryBytes: settings.memoryBytes,
        specialised: false,
      };
      // Both folders are the host's: the socket one as for any instance, the task one empty until specialised.
      for (const dir of [cell.socketDir, cell.taskDir, ...cell.extraDirs]) makeHostFolder(dir);
      const target = { id, socketPath: hostSocketOf(options.instancesDir, id) };
      const link = clients.link(target);
      const config = cellConfig({ runtime, id, image: cellImage.tag, memoryBytes: settings.memoryBytes, socketDir: cell.socketDir, taskDir: cell.taskDir, taskRoot: settings.taskRoot }, serverId, region);
      // Each extra folder is mounted as the task folder is: read-only, the host's, filled only when specialised.
      const extraBinds = settings.extraFolders.map((folder, i) => `${cell.extraDirs[i]}:${folder}:ro`);
      config.HostConfig = { ...config.HostConfig, Binds: [...(config.HostConfig?.Binds ?? []), ...extraBinds] };
      let container: Docker.Container | undefined;
      try {
        container = await docker.createContainer(withSecretStdin(config));
        cell.container = container;
        await startWithSecret(container, clients.secretOf(id));
      } catch (error) {
        await removeCell(cell, container?.id).catch(() => {});
        throw error;
      }
      const ended = watch(cell, exited);
      const booted = await Promise.race([link.ready(startTimeoutMs).then((ok) => (ok ? undefined : `no dial-in within ${startTimeoutMs} ms`)), ended]);
      if (booted !== undefined || !(await warmUp(target))) {
        await removeCell(cell, container.id).catch(() => {});
        throw new Error(`the cell did not boot: ${booted ?? 'its health call failed'}`);
      }
      return cell;
    },

    prepare: (spec) => versions.prepare(spec),

    async specialise(cell, spec) {
      const found = await versions.prepared(spec.image);
      if (!found || found.runtime !== cell.runtime) throw new Error('the version was not prepared for this cell');
      await found.link([cell.taskDir, ...cell.extraDirs]);
      // The function's own limit is in place before any of its code runs.
      if (spec.memoryBytes !== cell.memoryBytes) await cell.container.update({ Memory: spec.memoryBytes, MemorySwap: spec.memoryBytes });
      cell.specialised = true;
      const instance: Instance = { id: cell.id, fn: spec.fn, sha: spec.sha, socketPath: hostSocketOf(options.instancesDir, cell.id) };
      // What a classic container of this version gets: its image's environment, then the instance's own.
      const classic = containerConfig(spec, cell.id, cell.socketDir, serverId, region);
      const env = Object.fromEntries([...envMap(found.env), ...envMap(classic.Env ?? [])]);
      options.logs?.open(instance, spec.version);
      await initCell(clients, instance, env, startTimeoutMs);
      // What it serves, for a later server process to adopt it as any instance (labels cannot say it).
      await writeCellRecord(`${cell.taskDir}.json`, { fn: spec.fn, sha: spec.sha }, 0o644);
      // Named as an instance of its function for `docker ps` (labels cannot change), once its first request is
      // answered: the engine's rename costs ~10 ms of CPU that the cold start would otherwise wait for.
      setTimeout(() => {
        cell.container.rename({ name: classic.name }).catch(() => {});
      }, RENAME_AFTER_MS).unref();
      return instance;
    },

    destroy: (cell) => removeCell(cell, cell.container.id),

    release(instanceId) {
      if (!isInstanceId(instanceId)) return;
      dropTask(instanceId);
    },

    forget: (image) => versions.forget(image),
    dropFiles: (imageId) => versions.dropFiles(imageId),

    async removeAll() {
      const found = await docker.listContainers({ all: true, filters: ownFilter(serverId, LABELS.cell) });
      // Cells that became instances stay for reconciliation; waiting ones and file readers go.
      const kept = new Set((await engine.instances()).map((instance) => instance.instanceId));
      const gone = found.filter((c) => !kept.has(c.Labels[LABELS.instance] ?? ''));
      await Promise.all(gone.map((c) => removeContainer(docker, c.Id).catch(() => {})));
      for (const c of gone) {
        const id = c.Labels[LABELS.instance];
        if (id && isInstanceId(id)) removeInstanceFolder(options.instancesDir, id);
      }
      for (const entry of fs.readdirSync(tasksDir)) {
        if (!kept.has(entry.split('.')[0])) fs.rmSync(path.join(tasksDir, entry), { recursive: true, force: true });
      }
      // A version's files are kept while its image is.
      await versions.prune();
      return gone.filter((c) => c.Labels[LABELS.cell] !== 'files').length;
    },

    async instances() {
      const found = await docker.listContainers({ all: true, filters: ownFilter(serverId, LABELS.cell) });
      const instances: ManagedContainer[] = [];
      for (const c of found) {
        const id = c.Labels[LABELS.instance] ?? '';
        const record = readRecord(id);
        if (!record) continue;
        instances.push({ instanceId: id, fn: record.fn, sha: record.sha, running: isAlive(c), socketPath: hostSocketOf(options.instancesDir, id) });
      }
      return instances;
    },
  };

  /**
   * A health call, then a few warm-up calls shaped like function traffic: both ends (the host's connection pool, the
   * shim's request path) are compiled and loaded while nobody waits, so the first real request does not pay for it.
   */
  async function warmUp(target: { id: string; socketPath: string }): Promise<boolean> {
    if (!(await clients.healthy(target, startTimeoutMs))) return false;
    try {
      for (let i = 0; i < WARM_UP_CALLS; i++) {
        const response = await clients.get(target).request({
          path: `/warm-up?call=${i}`,
          method: 'POST',
          headers: { ...clients.internal(target.id, 'warm'), host: 'cell.localhost', 'content-type': 'application/json', cookie: 'a=1; b=2', 'x-forwarded-for': '127.0.0.1', 'user-agent': 'lambda' },
          body: '{"warm":true}',
          signal: AbortSignal.timeout(startTimeoutMs),
        });
        await response.body.dump();
        if (response.statusCode !== 200) return false;
      }
      return true;
    } catch {
      return false;
    }
  }

  function readRecord(id: string): CellRecord | undefined {
    return readCellRecord(id, path.join(tasksDir, `${id}.json`));
  }

  /** Reports the cell's end: to the pool while it waits, as an instance's exit once it is one. Resolves with why. */
  function watch(cell: DockerCell, exited: () => void): Promise<string> {
    return watchExit(cell.container, cell.id, clients, (reason) => {
      if (cell.specialised) options.onExit?.(cell.id, reason);
      else exited();
    });
  }

  return createCellPool(engine, { size: options.size, log: options.log, refillQuietMs: 300, ...options.growth });
}
