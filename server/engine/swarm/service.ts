// What an instance is on a swarm: a service of one replica that is never restarted, hardened as a local container is
// (its environment, user, limits and labels come from the same config), on its function's network alone, with the
// platform's authority and its own secret as files; and a cell, which is such a service before its init.
import type Docker from 'dockerode';
import type { InstanceSpec } from '../../instances/engine.js';
import { FUNCTION_USER, cellEnv, containerConfig } from '../container-config.js';
import { LABELS } from '../../instances/labels.js';
import { CONTAINER_SOCKET_DIR } from '../instance-folders.js';
import { RELAY_HOST } from './certificates.js';
import { RELAY_PORT, functionNetwork, swarmName } from './link.js';
import type { SwarmObject } from './links.js';

/** Where the shim finds the authority it pins. */
export const AUTHORITY_FILE = `${CONTAINER_SOCKET_DIR}/authority.pem`;
/** The instance secret's file name under /run/secrets (a tmpfs the engine fills on the node that runs the task only). */
export const SECRET_NAME = 'lambda-instance';

export interface InstanceLink {
  /** The version's image on the registry's read side, by digest. */
  image: string;
  authority: SwarmObject;
  /** The swarm secret holding this instance's secret. */
  secret: SwarmObject;
}

/** The service name of an instance, shortened as `swarmName` does when the function's name is long. */
export function serviceName(fn: string, id: string): string {
  return swarmName('lambda-', fn, `-${id}`);
}

/** The service name of a cell, shortened the same way (a cell's prefix is longer than an instance's). */
export function cellServiceName(fn: string, id: string): string {
  return swarmName('lambda-cell-', fn, `-${id}`);
}

/** An instance's environment on a swarm: the local container's, with the link to its function's relay for its socket folder. */
export function instanceEnv(spec: InstanceSpec, id: string, serverId: string, region: string): string[] {
  const local = containerConfig(spec, id, '', serverId, region);
  return [
    // No socket folder on a swarm: the shim dials its function's relay over TLS.
    ...(local.Env ?? []).filter((entry) => !entry.startsWith('LAMBDA_SOCKET_DIR=')),
    `LAMBDA_GATEWAY=tls://${RELAY_HOST}:${RELAY_PORT}`,
    `LAMBDA_GATEWAY_AUTHORITY=${AUTHORITY_FILE}`,
    `LAMBDA_SECRET_FILE=/run/secrets/${SECRET_NAME}`,
    `LAMBDA_INSTANCE_ID=${id}`,
  ];
}

export function instanceService(spec: InstanceSpec, id: string, serverId: string, region: string, link: InstanceLink): Record<string, unknown> {
  const local = containerConfig(spec, id, '', serverId, region);
  const host = local.HostConfig as Docker.HostConfig;
  const [uid, gid] = FUNCTION_USER.split(':');
  const owner = { UID: uid, GID: gid };
  const env = instanceEnv(spec, id, serverId, region);
  return {
    Name: serviceName(spec.fn, id),
    Labels: local.Labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: link.image,
        Labels: local.Labels,
        Env: env,
        User: local.User,
        ReadOnly: true,
        CapabilityDrop: ['ALL'],
        Healthcheck: local.Healthcheck,
        Mounts: [{ Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 64 * 1024 * 1024, Mode: 0o1777 } }],
        // Readable by the function's user alone, on the node that runs the task, from a tmpfs.
        Secrets: [{ SecretID: link.secret.id, SecretName: link.secret.name, File: { Name: SECRET_NAME, ...owner, Mode: 0o400 } }],
        Configs: [{ ConfigID: link.authority.id, ConfigName: link.authority.name, File: { Name: AUTHORITY_FILE, ...owner, Mode: 0o444 } }],
        StopGracePeriod: 2_000_000_000,
      },
      Resources: { Limits: { MemoryBytes: host.Memory, NanoCPUs: host.NanoCpus, Pids: host.PidsLimit } },
      // An instance that ends is the pool's to replace (as a local one's exit is): the swarm never restarts it.
      RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
      Placement: { Preferences: [{ Spread: { SpreadDescriptor: 'node.id' } }] },
      Networks: [{ Target: functionNetwork(spec.fn) }],
      LogDriver: { Name: host.LogConfig?.Type, Options: host.LogConfig?.Config },
    },
    Mode: { Replicated: { Replicas: 1 } },
    // No virtual address: it would be balanced by IPVS, which needs the iptables these engines run without; nobody dials an instance.
    EndpointSpec: { Mode: 'dnsrr' },
  };
}

/** Where a cell is placed and what it is a cell of. */
export interface CellPlace {
  /** The runtime of the version (the cell label's value). */
  runtime: string;
  /** The swarm node it must run on. */
  node: string;
  /** Aborted when the cell is given up while it is made (its function was deleted): what it made goes at once. */
  signal?: AbortSignal;
}

/**
 * A cell on a swarm: the service of an instance of `spec` (its image, network, memory, hardening), booted with a
 * cell's environment (none of the function's settings: its init brings them), pinned to one node, and labelled a
 * cell (labels cannot change later without the swarm restarting the task, so it keeps its instance labels too).
 */
export function cellService(spec: InstanceSpec, id: string, serverId: string, region: string, link: InstanceLink, place: CellPlace): Record<string, unknown> {
  const service = instanceService(spec, id, serverId, region, link) as { Labels: Record<string, string>; TaskTemplate: { ContainerSpec: { Env: string[]; Labels: Record<string, string> }; Placement: unknown } };
  const labels = { ...service.Labels, [LABELS.cell]: place.runtime };
  return {
    ...service,
    Name: cellServiceName(spec.fn, id),
    Labels: labels,
    TaskTemplate: {
      ...service.TaskTemplate,
      ContainerSpec: { ...service.TaskTemplate.ContainerSpec, Env: cellEnv(service.TaskTemplate.ContainerSpec.Env), Labels: labels },
      Placement: { Constraints: [`node.id==${place.node}`] },
    },
  };
}
