// The Swarm implementation of Engine: each instance a one-replica service placed by the swarm on any node, dialling
// the gateway through its function's relay; builds and images stay on the manager's engine, from which each version
// is pushed to the platform's registry once; cells (cells.ts) are such services made ahead, one version's each. No
// freezing here: see docs/swarm.md.
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { LambdaError } from '../../errors.js';
import { LABELS, ownFilter } from '../../instances/labels.js';
import type { InstanceClients } from '../../instances/requests/client.js';
import type { InstanceLogSockets } from '../../instances/log-socket.js';
import type { Engine, Instance, InstanceSpec, ManagedContainer } from '../../instances/engine.js';
import { dockerImages } from '../images.js';
import { imageGateOf } from '../image-gate.js';
import { statusOf } from '../containers.js';
import { DEFAULT_REGION } from '../container-config.js';
import { hostSocketOf, isInstanceId, makeHostFolder, newInstanceId, removeInstanceFolder } from '../instance-folders.js';
import { createSwarmGateways } from './gateway.js';
import { createSwarmLinks } from './links.js';
import { createPublisher, type RegistrySides } from './publish.js';
import { createRegistryUpkeep } from './registry-upkeep.js';
import { createNodePrune } from './node-prune.js';
import { buildGoImage, goSource } from './go-image.js';
import { writeRegistryConfigs } from './registry.js';
import { cellService, instanceService, type CellPlace } from './service.js';
import { createSwarmCells, type SwarmCells, type SwarmCellsOptions } from './cells.js';
import { LOST_WITH_NODE, createTaskWatch, shortenHeartbeat } from './tasks.js';
import { swarmNodes } from './nodes.js';
import { createPrivilegeCheck } from './privileges.js';

export interface SwarmEngineOptions {
  /** The swarm manager's engine. */
  docker: Docker;
  clients: InstanceClients;
  /** The data folder: instances' host folders, the functions' gateway sockets (`links/`), the authority (`swarm/`). */
  dataDir: string;
  serverId: string;
  region?: string;
  registry: RegistrySides & {
    /** The registry's folder (LAMBDA_SWARM_REGISTRY_DIR); the data folder's `registry/` by default. */
    dir?: string;
    /** Deletions between two garbage collections (LAMBDA_SWARM_REGISTRY_COLLECT_EVERY). */
    collectEvery?: number;
    /** The engine's socket on every node, for the job that prunes their images (LAMBDA_SWARM_NODE_SOCKET). */
    nodeSocket?: string;
  };
  /** A line for the server's log (a registry deletion or collection that failed). */
  warn?(line: string): void;
  /** How long a new instance may take to dial in; its node may first pull the version's image. */
  startTimeoutMs?: number;
  onExit?(instanceId: string, reason: string): void;
  logs?: InstanceLogSockets;
  /** A warning for the operator (an engine without no-new-privileges). */
  warn?(line: string): void;
  /** Cells made on demand (none at rest), one version's each; without it every start places a service. */
  cells?: Pick<SwarmCellsOptions, 'recipes' | 'growth' | 'log'>;
}

const secretName = (id: string) => `lambda-instance-${id}`;
const PRUNER_SOURCE = goSource(new URL('./pruner/main.go', import.meta.url), 'server/engine/swarm/pruner/main.go');

export function createSwarmEngine(options: SwarmEngineOptions): Engine & { cells?: SwarmCells } {
  const { docker, clients, serverId } = options;
  const instancesDir = path.join(options.dataDir, 'instances');
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  fs.mkdirSync(instancesDir, { recursive: true, mode: 0o700 });
  const gateways = createSwarmGateways(path.join(options.dataDir, 'links'), clients);
  const links = createSwarmLinks(docker, options.dataDir, serverId, gateways);
  // The registry's two sides are the operator's processes; their configuration is the server's, written at each start.
  const registryDir = path.resolve(options.registry.dir ?? path.join(options.dataDir, 'registry'));
  writeRegistryConfigs(registryDir, options.registry);
  const publisher = createPublisher(docker, options.registry, { gate: imageGateOf(docker), pushed: (tag) => upkeep.pushed(tag) });
  /** The tags of repository `name` whose images the manager's engine still holds: the versions the server keeps. */
  const keptTags = async (name: string): Promise<ReadonlySet<string>> => {
    const images = await docker.listImages({ filters: { reference: [name] } });
    const prefix = `${name}:`;
    return new Set(images.flatMap((image) => image.RepoTags ?? []).filter((ref) => ref.startsWith(prefix)).map((ref) => ref.slice(prefix.length)));
  };
  const upkeep = createRegistryUpkeep({
    push: options.registry.push,
    dir: registryDir,
    collectEvery: options.registry.collectEvery ?? 50,
    gate: imageGateOf(docker),
    pushing: () => publisher.pushing(),
    known: (tag) => publisher.known(tag),
    kept: keptTags,
    dropped: (name, digest) => publisher.dropped(name, digest),
    warn: options.warn ?? (() => {}),
    collected: () => void nodePrune.run(),
  });
  // What the registry's collection removed, each node's engine removes too (and daily).
  const nodePrune = createNodePrune({
    docker, serverId, pull: options.registry.pull, socket: options.registry.nodeSocket ?? '/var/run/docker.sock', gate: imageGateOf(docker),
    pushing: () => publisher.pushing(),
    image: async () => publisher.publish(await buildGoImage(docker, PRUNER_SOURCE, 'pruner', path.join(options.dataDir, 'swarm'))),
    log: options.warn ?? (() => {}),
  });
  const tasks = createTaskWatch(docker);
  // How soon a node that left is known is the swarm's heartbeat. Failing to shorten it only makes that slower (and
  // an engine that is no swarm manager fails every start anyway, with its own error).
  void shortenHeartbeat(docker).catch(() => {});
  // Checked on the first of the platform's tasks the manager's engine runs (now, or after a start).
  const privileges = createPrivilegeCheck(docker, options.warn ?? (() => {}));
  void privileges.check();

  const ended = (id: string) => (reason: string) => {
    clients.gone(id, `the instance ${reason}`);
    // A local instance's exit closes its connections; one whose node is gone closes nothing (no FIN crosses a cut
    // link, and the relay on the manager keeps its side open), so its requests in flight would wait for their
    // timeout. They are cut here and fail as a crash does.
    if (reason === LOST_WITH_NODE) void clients.destroy(id);
    options.onExit?.(id, reason);
  };

  /** The service and secret of instance `id`, and what the host kept for it. Never throws for what is already gone. */
  const remove = async (id: string): Promise<void> => {
    tasks.unwatch(id);
    gateways.forget(id);
    await clients.destroy(id);
    options.logs?.close(id);
    const services = await docker.listServices({ filters: ownFilter(serverId, `${LABELS.instance}=${id}`) });
    await Promise.all(services.map((service) => docker.getService(service.ID).remove().catch(() => {})));
    await docker.getSecret(secretName(id)).remove().catch(() => {});
    removeInstanceFolder(instancesDir, id);
  };

  /**
   * Places instance `id` of `spec` (a cell when `cell` says where) and waits for its shim's dial-in (or its task's
   * end) and its health check; `onEnd` hears later why its task ended. What a failed start made is removed.
   */
  const place = async (spec: InstanceSpec, id: string, cell: CellPlace | undefined, onEnd: (reason: string) => void): Promise<Instance> => {
    makeHostFolder(path.join(instancesDir, id));
    const instance: Instance = { id, fn: spec.fn, sha: spec.sha, socketPath: hostSocketOf(instancesDir, id) };
    gateways.admit(instance);
    const link = clients.link(instance);
    // A cell's output is its function's from its init on.
    if (!cell) options.logs?.open(instance, spec.version);
    let serviceId: string;
    const givenUp = 'it was given up (its function was deleted)';
    try {
      // A cell given up (its function deleted) makes nothing more: not its function's link again, nor its service.
      if (cell?.signal?.aborted) throw new Error(givenUp);
      const [image, authority] = await Promise.all([publisher.publish(spec.image), links.authority(), links.ensure(spec.fn)]);
      if (cell?.signal?.aborted) throw new Error(givenUp);
      // The engine answers a creation with the secret's id: no second call on the cold start's path.
      const secret = (await docker.createSecret({ Name: secretName(id), Data: Buffer.from(clients.secretOf(id)).toString('base64'), Labels: { [LABELS.server]: serverId, [LABELS.instance]: id } })) as { id: string };
      const shape = { image, authority, secret: { id: secret.id, name: secretName(id) } };
      const region = options.region ?? DEFAULT_REGION;
      const service = (await docker.createService(cell ? cellService(spec, id, serverId, region, shape, cell) : instanceService(spec, id, serverId, region, shape))) as { id?: string; ID?: string };
      serviceId = service.id ?? service.ID ?? '';
    } catch (error) {
      await remove(id);
      throw startError(spec, error);
    }
    let why = '';
    const failed = new Promise<string>((resolve) => tasks.watch(serviceId, id, (reason) => resolve(`the instance ${reason} before answering`)));
    const dialled = link.ready(startTimeoutMs).then((ok) => (ok ? '' : `no answer within ${startTimeoutMs} ms`));
    const aborted = new Promise<string>((resolve) => {
      if (cell?.signal?.aborted) resolve(givenUp);
      cell?.signal?.addEventListener('abort', () => resolve(givenUp), { once: true });
    });
    why = await Promise.race([failed, dialled, aborted]);
    if (why === '' && (await clients.healthy(instance))) {
      tasks.watch(serviceId, id, onEnd);
      void privileges.check();
      return instance;
    }
    await remove(id);
    throw new LambdaError('LAMBDA_ERR_HEALTHCHECK_FAILED', { detail: why || 'the health check was not answered' }, { logs: '' });
  };

  const cells = options.cells
    ? createSwarmCells({
        ...options.cells,
        docker,
        clients,
        serverId,
        region: options.region ?? DEFAULT_REGION,
        instancesDir,
        cellsDir: path.join(options.dataDir, 'swarm', 'cells'),
        logs: options.logs,
        host: { place, remove, ended: (id, reason) => ended(id)(reason), running: (serviceId) => tasks.running(serviceId) },
      })
    : undefined;

  return {
    ...dockerImages(docker),

    async removeImage(tag, keep) {
      // As on one machine, it waits for the builds that may use it as their cache. Its registry copy goes with it
      // (deleted once, unless a kept version's tag names the same manifest; a failure is retried later), and its
      // space with the next garbage collection.
      await imageGateOf(docker).remove(async () => {
        // Asked once the gate is ours, and what would hand the image out is forgotten in the same turn: a rollback
        // that takes the function after this finds no cell of it, and its push waits for the gate, then finds no image.
        if (keep?.()) return;
        cells?.forget(tag);
        await publisher.forget(tag);
        await docker.getImage(tag).remove().catch((error: unknown) => {
          if (statusOf(error) !== 404) throw error;
        });
        await upkeep.deleted(tag);
      });
    },

    // The manager's engine cannot pause a container on another node: an idle instance keeps running until it stops.
    async freeze() {},
    async thaw() {},
    async endedAt(instance) {
      return tasks.endedAt(instance.id);
    },

    cells,

    async start(spec: InstanceSpec): Promise<Instance> {
      // A waiting cell of this very version (on the node its function has least on) becomes the instance with one call.
      const fromCell = await cells?.start(spec);
      if (fromCell) return fromCell;
      const id = newInstanceId();
      return place(spec, id, undefined, ended(id));
    },

    cancelBoots(fn) {
      // A deleted function's cells go with it, those being made too (their services removed at once), and no new
      // one is made for it: a cell's start would make its function's link again after the delete removed it.
      cells?.forgetFunction(fn);
    },

    async stop(instance) {
      await remove(instance.id);
      cells?.release(instance.id);
    },

    // A cell that became an instance counts as one (its labels cannot say so; the cells' records do).
    nodes: () => swarmNodes(docker, serverId, (id) => cells?.became(id) ?? false),
    forgetFunction: (fn) => links.drop(fn),
    sweepFunctions: (known) => links.sweep(known),

    async listManaged(): Promise<ManagedContainer[]> {
      const services = await docker.listServices({ filters: ownFilter(serverId, `${LABELS.managed}=true`) });
      const found: ManagedContainer[] = [];
      for (const service of services) {
        const labels = service.Spec?.Labels ?? {};
        const id = labels[LABELS.instance] ?? '';
        // A cell is listed by the cells, and only once it became an instance (its labels cannot say which).
        if (!isInstanceId(id) || labels[LABELS.cell] !== undefined) continue;
        found.push({ instanceId: id, fn: labels[LABELS.fn] ?? '', sha: labels[LABELS.version] ?? '', running: await tasks.running(service.ID), socketPath: hostSocketOf(instancesDir, id) });
      }
      return [...found, ...((await cells?.instances()) ?? [])];
    },

    async healthy(instance) {
      // An adopted instance (after a restart): its link is made again, and it dials in through it.
      const services = await docker.listServices({ filters: ownFilter(serverId, `${LABELS.instance}=${instance.id}`) });
      if (services.length === 0) return false;
      await links.ensure(instance.fn);
      fs.mkdirSync(path.join(instancesDir, instance.id), { recursive: true, mode: 0o755 });
      gateways.admit(instance);
      options.logs?.open(instance);
      if (!(await clients.healthy(instance, 10_000))) return false;
      tasks.watch(services[0].ID, instance.id, ended(instance.id));
      return true;
    },
  };
}

/** A service the engine refused (a bad spec) is the version's fault; anything else the engine's. */
function startError(spec: InstanceSpec, error: unknown): LambdaError {
  const status = statusOf(error);
  const detail = (error as Error).message;
  if (status !== undefined && status >= 400 && status < 500 && status !== 404 && status !== 409) {
    return new LambdaError('LAMBDA_ERR_INSTANCE_START_FAILED', { name: spec.fn, detail });
  }
  return new LambdaError('LAMBDA_ERR_ENGINE_UNAVAILABLE', { detail });
}
