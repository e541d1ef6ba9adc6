// The Docker implementation of Runtime: hardened containers, one per instance, reached over a bind-mounted socket dir.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { LambdaError } from '../errors.js';
import { dockerImages } from './docker-images.js';
import type { InstanceClients } from './instance-client.js';
import type { Instance, InstanceSpec, ManagedContainer, Runtime } from './types.js';

export const LABELS = {
  managed: 'lambda.managed',
  fn: 'lambda.function',
  version: 'lambda.version',
  instance: 'lambda.instance',
  server: 'lambda.server',
} as const;

const SOCKET_NAME = 'http.sock';
const CONTAINER_SOCKET_DIR = '/run/lambda';
/** The non-root user every function runs as (design.md: hardened containers). */
const FUNCTION_USER = '10001:10001';

export interface DockerRuntimeOptions {
  docker: Docker;
  clients: InstanceClients;
  /** Host directory holding one socket directory per instance. */
  instancesDir: string;
  /** How long a new instance may take to answer its first health check. */
  startTimeoutMs?: number;
  /** Identifies this server's containers, so two installations (or test servers) sharing an engine never touch each other's. */
  serverId: string;
}

export function createDockerRuntime(options: DockerRuntimeOptions): Runtime {
  const { docker, clients, instancesDir } = options;
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  fs.mkdirSync(instancesDir, { recursive: true });
  const socketOf = (id: string) => path.join(instancesDir, id, SOCKET_NAME);

  const removeContainer = async (id: string): Promise<void> => {
    try {
      await docker.getContainer(id).remove({ force: true });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
  };

  return {
    ...dockerImages(docker),

    async start(spec: InstanceSpec): Promise<Instance> {
      const id = randomBytes(6).toString('hex');
      const dir = path.join(instancesDir, id);
      fs.mkdirSync(dir, { recursive: true });
      // The function's user (uid 10001) creates its socket here; the directory is its only writable host path.
      fs.chmodSync(dir, 0o777);
      let container: Docker.Container;
      try {
        container = await docker.createContainer(containerConfig(spec, id, dir, options.serverId));
        await container.start();
      } catch (error) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw new LambdaError('LAMBDA_ERR_ENGINE_UNAVAILABLE', { detail: (error as Error).message });
      }
      const instance: Instance = { id, fn: spec.fn, sha: spec.sha, socketPath: socketOf(id) };
      const failure = await waitHealthy(container, instance, startTimeoutMs, clients);
      if (failure) {
        const logs = await tailLogs(container);
        await removeContainer(container.id).catch(() => {});
        fs.rmSync(dir, { recursive: true, force: true });
        throw new LambdaError('LAMBDA_ERR_HEALTHCHECK_FAILED', { detail: failure }, { logs });
      }
      return instance;
    },

    async stop(instance) {
      const found = await docker.listContainers({ all: true, filters: { label: [`${LABELS.instance}=${instance.id}`] } });
      await Promise.all(found.map((c) => removeContainer(c.Id)));
      fs.rmSync(path.join(instancesDir, instance.id), { recursive: true, force: true });
    },

    async listManaged(): Promise<ManagedContainer[]> {
      const found = await docker.listContainers({ all: true, filters: { label: [`${LABELS.managed}=true`, `${LABELS.server}=${options.serverId}`] } });
      return found.map((c) => ({
        instanceId: c.Labels[LABELS.instance] ?? '',
        fn: c.Labels[LABELS.fn] ?? '',
        sha: c.Labels[LABELS.version] ?? '',
        running: c.State === 'running',
        socketPath: socketOf(c.Labels[LABELS.instance] ?? 'missing'),
      }));
    },

    healthy: (instance) => clients.healthy(instance),
  };
}

function containerConfig(spec: InstanceSpec, id: string, dir: string, serverId: string): Docker.ContainerCreateOptions {
  const env: Record<string, string> = {
    ...spec.env,
    LAMBDA_HANDLER: spec.handler,
    LAMBDA_FUNCTION_NAME: spec.fn,
    LAMBDA_FUNCTION_VERSION: String(spec.version),
    LAMBDA_TIMEOUT_MS: String(spec.timeoutMs),
    LAMBDA_MEMORY_MB: String(Math.round(spec.memoryBytes / 1024 / 1024)),
    LAMBDA_SOCKET_DIR: CONTAINER_SOCKET_DIR,
  };
  return {
    name: `lambda-${spec.fn}-${id}`,
    Image: spec.image,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    User: FUNCTION_USER,
    Labels: {
      [LABELS.managed]: 'true',
      [LABELS.server]: serverId,
      [LABELS.fn]: spec.fn,
      [LABELS.version]: spec.sha,
      [LABELS.instance]: id,
    },
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=64m' },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: 256,
      Memory: spec.memoryBytes,
      MemorySwap: spec.memoryBytes,
      NanoCpus: 1_000_000_000,
      Binds: [`${dir}:${CONTAINER_SOCKET_DIR}`],
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
    },
  };
}

/** Waits for the shim's socket, then one health request. Returns why it failed, or undefined when healthy. */
async function waitHealthy(container: Docker.Container, instance: Instance, timeoutMs: number, clients: InstanceClients): Promise<string | undefined> {
  let exited: string | undefined;
  container
    .wait()
    .then((result: { StatusCode: number }) => {
      exited = `the process exited with status ${result.StatusCode} before answering`;
    })
    .catch(() => {
      exited = 'the container disappeared before answering';
    });
  const deadline = Date.now() + timeoutMs;
  // Polling a path every 2 ms costs little and answers faster than waiting on engine events.
  while (Date.now() < deadline) {
    if (exited) return exited;
    if (fs.existsSync(instance.socketPath)) {
      if (await clients.healthy(instance)) return undefined;
      if (exited) return exited;
    }
    await sleep(2);
  }
  return `no answer within ${timeoutMs} ms`;
}

async function tailLogs(container: Docker.Container): Promise<string[]> {
  try {
    const raw = (await container.logs({ stdout: true, stderr: true, tail: 40 })) as unknown as Buffer;
    return demux(raw).split('\n').filter((line) => line.trim() !== '');
  } catch {
    return [];
  }
}

/** Docker multiplexes stdout/stderr with an 8-byte header per frame when there is no TTY. */
export function demux(raw: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const size = raw.readUInt32BE(offset + 4);
    parts.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
