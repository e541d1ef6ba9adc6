// The Swarm implementation of Engine: each instance a one-replica service placed by the swarm on any node, dialling
// the gateway through its function's relay; builds and images stay on the manager's engine, from which each version
// is pushed to the platform's registry once. No cells and no freezing here: see docs/swarm.md.
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
import { instanceService } from './service.js';
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
}

const secretName = (id: string) => `lambda-instance-${id}`;
const PRUNER_SOURCE = goSource(new URL('./pruner/main.go', import.meta.url), 'server/engine/swarm/pruner/main.go');

export function createSwarmEngine(options: SwarmEngineOptions): Engine {
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
  const upkeep = createRegistryUpkeep({
    push: options.registry.push,
    dir: registryDir,
    collectEvery: options.registry.collectEvery ?? 50,
    gate: imageGateOf(docker),
    pushing: () => publisher.pushing(),
    known: (tag) => publisher.known(tag),
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

  const watch = (serviceId: string, id: string) => tasks.watch(serviceId, id, ended(id));

  return {
    ...dockerImages(docker),

    async removeImage(tag) {
      // As on one machine, it waits for the builds that may use it as their cache. Its registry copy goes with it
      // (deleted once; a failure is retried later), and its space with the next garbage collection.
      await imageGateOf(docker).remove(async () => {
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

    async start(spec: InstanceSpec): Promise<Instance> {
      const id = newInstanceId();
      makeHostFolder(path.join(instancesDir, id));
      const instance: Instance = { id, fn: spec.fn, sha: spec.sha, socketPath: hostSocketOf(instancesDir, id) };
      gateways.admit(instance);
      const link = clients.link(instance);
      options.logs?.open(instance, spec.version);
      let serviceId: string;
      try {
        const [image, authority] = await Promise.all([publisher.publish(spec.image), links.authority(), links.ensure(spec.fn)]);
        await docker.createSecret({ Name: secretName(id), Data: Buffer.from(clients.secretOf(id)).toString('base64'), Labels: { [LABELS.server]: serverId, [LABELS.instance]: id } });
        const secret = (await docker.getSecret(secretName(id)).inspect()) as { ID: string };
        const service = (await docker.createService(instanceService(spec, id, serverId, options.region ?? DEFAULT_REGION, { image, authority, secret: { id: secret.ID, name: secretName(id) } }))) as { id?: string; ID?: string };
        serviceId = service.id ?? service.ID ?? '';
      } catch (error) {
        await remove(id);
        throw startError(spec, error);
      }
      let why = '';
      const failed = new Promise<string>((resolve) => tasks.watch(serviceId, id, (reason) => resolve(`the instance ${reason} before answering`)));
      const dialled = link.ready(startTimeoutMs).then((ok) => (ok ? '' : `no answer within ${startTimeoutMs} ms`));
      why = await Promise.race([failed, dialled]);
      if (why === '' && (await clients.healthy(instance))) {
        watch(serviceId, id);
        void privileges.check();
        return instance;
      }
      await remove(id);
      throw new LambdaError('LAMBDA_ERR_HEALTHCHECK_FAILED', { detail: why || 'the health check was not answered' }, { logs: '' });
    },

    async stop(instance) {
      await remove(instance.id);
    },

    nodes: () => swarmNodes(docker, serverId),
    forgetFunction: (fn) => links.drop(fn),
    sweepFunctions: (known) => links.sweep(known),

    async listManaged(): Promise<ManagedContainer[]> {
      const services = await docker.listServices({ filters: ownFilter(serverId, `${LABELS.managed}=true`) });
      const found: ManagedContainer[] = [];
      for (const service of services) {
        const labels = service.Spec?.Labels ?? {};
        const id = labels[LABELS.instance] ?? '';
        if (!isInstanceId(id)) continue;
        found.push({ instanceId: id, fn: labels[LABELS.fn] ?? '', sha: labels[LABELS.version] ?? '', running: await tasks.running(service.ID), socketPath: hostSocketOf(instancesDir, id) });
      }
      return found;
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
      watch(services[0].ID, instance.id);
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
