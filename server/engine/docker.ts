// The Docker implementation of Engine: hardened containers, one per instance, reached over a bind-mounted socket
// folder; images and freezing come from their own modules, cells from the pool start() takes from first.
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { LambdaError } from '../errors.js';
import { dockerImages } from './images.js';
import { imageGateOf } from './image-gate.js';
import { dockerFreeze } from './freeze.js';
import { LABELS, ownFilter } from '../instances/labels.js';
import { containerConfig, DEFAULT_REGION } from './container-config.js';
import { isAlive, removeContainer, startWithSecret, statusOf, watchExit, withSecretStdin } from './containers.js';
import { tailLogs } from './container-logs.js';
import { hostSocketOf, makeHostFolder, newInstanceId, removeInstanceFolder } from './instance-folders.js';
import type { InstanceClients } from '../instances/requests/client.js';
import type { InstanceLink } from '../instances/link.js';
import type { InstanceLogSockets } from '../instances/log-socket.js';
import type { CellPool, Instance, InstanceSpec, ManagedContainer, Engine } from '../instances/engine.js';
import { BootRefused, UNBOUNDED, type BootLimiter, type BootTurn } from '../instances/boots.js';

export interface DockerEngineOptions {
  docker: Docker;
  clients: InstanceClients;
  /** Host directory holding one socket directory per instance. */
  instancesDir: string;
  /** How long a new instance may take to answer its first health check. */
  startTimeoutMs?: number;
  /** AWS_REGION inside functions (code written for Lambda reads it). */
  region?: string;
  /** Identifies this server's containers, so two installations (or test servers) sharing an engine never touch each other's. */
  serverId: string;
  /** Told when an instance's process ends on its own or is removed, with why (e.g. an OOM kill). */
  onExit?(instanceId: string, reason: string): void;
  /** Pre-started cells start() specialises before it boots a container (server/engine/cells/cells.ts). */
  cells?: CellPool;
  /** Where a classic start's boot takes its turn beside cells' (no bound without one). */
  boots?: BootLimiter;
  /** Where each instance's output is received (its log.sock), when function logs are kept. */
  logs?: InstanceLogSockets;
}

export function createDockerEngine(options: DockerEngineOptions): Engine {
  const { docker, clients, instancesDir, serverId } = options;
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  fs.mkdirSync(instancesDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(instancesDir, 0o700);
  const ended = (id: string) => (reason: string) => options.onExit?.(id, reason);

  /** Undoes a start that failed: the container (if made), the host's connections and log socket, the folder. */
  const abandon = async (id: string, container?: Docker.Container): Promise<void> => {
    if (container) await removeContainer(docker, container.id).catch(() => {});
    await clients.destroy(id);
    options.logs?.close(id);
    removeInstanceFolder(instancesDir, id);
  };

  /**
   * Boots a container of `spec` and waits for its health check. Its turn covers what costs the machine: it is given
   * back once the process dialled in, or a short hold after it started (turn.spawned); a boot whose turn is aborted
   * (its function deleted, the server stopping) removes what it made.
   */
  const bootClassic = async (spec: InstanceSpec, turn: BootTurn): Promise<Instance> => {
    const id = newInstanceId();
    const dir = path.join(instancesDir, id);
    makeHostFolder(dir);
    const instance: Instance = { id, fn: spec.fn, sha: spec.sha, socketPath: hostSocketOf(instancesDir, id), bootWaitMs: turn.waitedMs };
    const link = clients.link(instance);
    options.logs?.open(instance, spec.version);
    let container: Docker.Container | undefined;
    try {
      turn.signal.throwIfAborted();
      container = await docker.createContainer(withSecretStdin(containerConfig(spec, id, dir, serverId, options.region ?? DEFAULT_REGION)));
      turn.signal.throwIfAborted();
      await startWithSecret(container, clients.secretOf(id));
      turn.spawned();
    } catch (error) {
      await abandon(id, container);
      throw error instanceof BootRefused ? error : startError(spec, error);
    }
    void watchExit(container, id, clients, ended(id));
    const failure = await waitHealthy(container, link, startTimeoutMs, turn.signal);
    turn.release();
    if (turn.signal.aborted) {
      await abandon(id, container);
      throw turn.signal.reason as BootRefused;
    }
    if (failure === undefined && (await clients.healthy(instance))) return instance;
    const logs = await tailLogs(container);
    await abandon(id, container);
    throw new LambdaError('LAMBDA_ERR_HEALTHCHECK_FAILED', { detail: failure ?? 'the health check was not answered' }, { logs });
  };

  return {
    ...dockerImages(docker),
    ...dockerFreeze(docker, serverId),

    async removeImage(tag, keep) {
      // Its untagged parents go with it, so it waits until no build reads the cache they may be part of (image-gate.ts);
      // what cells prepared from it is forgotten only then, while a version may still be started from it.
      const id = await imageGateOf(docker).remove(async () => {
        // Asked once the gate is ours, in the same turn as the cells forget it (see Engine.removeImage).
        if (keep?.()) return undefined;
        options.cells?.forget(tag);
        // Its id, for the cells' files, is only asked for when there are cells.
        const found = options.cells?.dropFiles
          ? await docker
              .getImage(tag)
              .inspect()
              .then((info) => info.Id, () => undefined)
          : undefined;
        try {
          await docker.getImage(tag).remove();
        } catch (error) {
          if (statusOf(error) !== 404) throw error;
        }
        return found;
      });
      // The image's files copied for cells go with it (unless another tag still holds the same image). Outside the
      // gate: that waits for preparations in flight, which may wait for a cell image's build.
      if (id) await options.cells?.dropFiles?.(id);
    },

    cells: options.cells,

    async start(spec: InstanceSpec): Promise<Instance> {
      // A ready cell becomes the instance in milliseconds; without one (or for a version that cannot use one), boot a container.
      const fromCell = await options.cells?.start(spec);
      if (fromCell) {
        options.logs?.open(fromCell, spec.version);
        return fromCell;
      }
      // Boots beyond what the cores do at once wait their turn (fairly across functions, for at most the start
      // timeout): the first of a burst are answered early, and one function's flood does not hold another's start.
      try {
        return await (options.boots ?? UNBOUNDED).run('start', (turn) => bootClassic(spec, turn), { key: spec.fn, maxWaitMs: startTimeoutMs });
      } catch (error) {
        // Given up (no turn in time, deleted, the server stopping): its waiters fail as for any start that failed.
        if (error instanceof BootRefused) throw new LambdaError('LAMBDA_ERR_INSTANCE_START_FAILED', { name: spec.fn, detail: error.message });
        throw error;
      }
    },

    cancelBoots(fn) {
      options.boots?.cancel(fn, 'the function was deleted');
    },

    closeBoots() {
      options.boots?.close('the server is stopping');
    },

    async stop(instance) {
      await clients.destroy(instance.id);
      options.logs?.close(instance.id);
      // Both labels: an image's labels carry over to containers made from it, and other servers share the engine.
      const found = await docker.listContainers({ all: true, filters: ownFilter(serverId, `${LABELS.instance}=${instance.id}`) });
      await Promise.all(found.map((c) => removeContainer(docker, c.Id)));
      removeInstanceFolder(instancesDir, instance.id);
      options.cells?.release(instance.id);
    },

    async listManaged(): Promise<ManagedContainer[]> {
      const found = await docker.listContainers({ all: true, filters: ownFilter(serverId, `${LABELS.managed}=true`) });
      const classic = found.map((c) => ({
        instanceId: c.Labels[LABELS.instance] ?? '',
        fn: c.Labels[LABELS.fn] ?? '',
        sha: c.Labels[LABELS.version] ?? '',
        // A frozen instance is adopted too, and thawed for its health check.
        running: isAlive(c),
        socketPath: hostSocketOf(instancesDir, c.Labels[LABELS.instance] ?? 'missing'),
      }));
      // Cells that became instances (their labels cannot say which function they serve; the cell pool knows).
      return [...classic, ...((await options.cells?.instances()) ?? [])];
    },

    async nodes() {
      // One machine: the engine's own, with this server's running instances (cells that became instances included).
      const info = (await docker.info()) as { ID?: string; Name?: string; ServerVersion?: string };
      const [classic, fromCells] = await Promise.all([
        docker.listContainers({ filters: ownFilter(serverId, `${LABELS.managed}=true`) }),
        options.cells?.instances() ?? [],
      ]);
      const cells = Object.values(options.cells?.status() ?? {}).reduce((sum, each) => sum + each.ready + each.starting, 0);
      return [{ id: info.ID ?? '', hostname: info.Name ?? '', role: 'manager', state: 'ready', availability: 'active', engineVersion: info.ServerVersion ?? '', instances: classic.filter(isAlive).length + fromCells.filter((each) => each.running).length, cells }];
    },

    async healthy(instance) {
      // An adopted instance (after a restart): listen again where its shim dials, and notice when it exits.
      const found = await docker.listContainers({ filters: ownFilter(serverId, `${LABELS.instance}=${instance.id}`) });
      if (found.length === 0) return false;
      if (found[0].State === 'paused') await docker.getContainer(found[0].Id).unpause().catch(() => {});
      options.logs?.open(instance);
      if (!(await clients.healthy(instance))) return false;
      void watchExit(docker.getContainer(found[0].Id), instance.id, clients, ended(instance.id));
      return true;
    },
  };
}

/** A container the engine refused (bad config, e.g. an env value it cannot take) is the version's fault; anything else the engine's. */
function startError(spec: InstanceSpec, error: unknown): LambdaError {
  const status = statusOf(error);
  const detail = (error as Error).message;
  if (status !== undefined && status >= 400 && status < 500 && status !== 404) {
    return new LambdaError('LAMBDA_ERR_INSTANCE_START_FAILED', { name: spec.fn, detail });
  }
  return new LambdaError('LAMBDA_ERR_ENGINE_UNAVAILABLE', { detail });
}

/** Waits for the shim to dial in (or the boot to be given up). Returns why it failed, or undefined once it has. */
async function waitHealthy(container: Docker.Container, link: InstanceLink, timeoutMs: number, signal: AbortSignal): Promise<string | undefined> {
  let onAbort = (): void => {};
  const aborted = new Promise<string>((resolve) => {
    onAbort = () => resolve('the boot was given up');
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  const exited = container.wait().then(
    (result: { StatusCode: number }) => `the process exited with status ${result.StatusCode} before answering`,
    () => 'the container disappeared before answering',
  );
  const dialled = link.ready(timeoutMs).then((ok) => (ok ? undefined : `no answer within ${timeoutMs} ms`));
  try {
    return await Promise.race([exited, dialled, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
