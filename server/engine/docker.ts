// The Docker implementation of Engine: hardened containers, one per instance, reached over a bind-mounted socket dir.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { LambdaError } from '../errors.js';
import { dockerImages } from './images.js';
import { dockerFreeze } from './freeze.js';
import type { InstanceClients } from '../instances/client.js';
import type { InstanceLink } from '../instances/link.js';
import type { InstanceLogSockets } from '../instances/log-socket.js';
import type { CellPool, Instance, InstanceSpec, ManagedContainer, Engine } from '../instances/engine.js';

export const LABELS = {
  managed: 'lambda.managed',
  fn: 'lambda.function',
  version: 'lambda.version',
  instance: 'lambda.instance',
  server: 'lambda.server',
} as const;

/** The socket the host listens on and the shim dials (buildpacks' shims use the same name). */
const SOCKET_NAME = 'host.sock';
const CONTAINER_SOCKET_DIR = '/run/lambda';
const DEFAULT_REGION = 'us-east-1';
/** The non-root user every function runs as (one of the ways its container is hardened). */
const FUNCTION_USER = '10001:10001';

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
  /** Pre-started cells start() specialises before it boots a container (server/engine/cells.ts). */
  cells?: CellPool;
  /** Where each instance's output is received (its log.sock), when function logs are kept. */
  logs?: InstanceLogSockets;
}

export function createDockerEngine(options: DockerEngineOptions): Engine {
  const { docker, clients, instancesDir } = options;
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  fs.mkdirSync(instancesDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(instancesDir, 0o700);
  const socketOf = (id: string) => path.join(instancesDir, id, SOCKET_NAME);

  const removeContainer = async (id: string): Promise<void> => {
    try {
      await docker.getContainer(id).remove({ force: true, v: true });
    } catch (error) {
      // 404: already gone; 409: another stop of the same instance is removing it.
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== 404 && status !== 409) throw error;
    }
  };

  return {
    ...dockerImages(docker),
    ...dockerFreeze(docker, options.serverId),

    async removeImage(tag) {
      options.cells?.forget(tag);
      // Its id, for the cells' files, is only asked for when there are cells.
      const id = options.cells?.dropFiles
        ? await docker
            .getImage(tag)
            .inspect()
            .then((info) => info.Id, () => undefined)
        : undefined;
      try {
        await docker.getImage(tag).remove();
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      }
      // The image's files copied for cells go with it (unless another tag still holds the same image).
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
      const id = randomBytes(6).toString('hex');
      const dir = path.join(instancesDir, id);
      // The host owns this folder and the socket in it; the container gets it read-only, so a function can
      // neither swap the socket for a link elsewhere nor write to the host's disk through it.
      fs.mkdirSync(dir, { mode: 0o755 });
      fs.chmodSync(dir, 0o755);
      const instance: Instance = { id, fn: spec.fn, sha: spec.sha, socketPath: socketOf(id) };
      const link = clients.link(instance);
      options.logs?.open(instance, spec.version);
      let container: Docker.Container | undefined;
      try {
        container = await docker.createContainer(withSecretStdin(containerConfig(spec, id, dir, options.serverId, options.region ?? DEFAULT_REGION)));
        await startWithSecret(container, clients.secretOf(id));
      } catch (error) {
        if (container) await removeContainer(container.id).catch(() => {});
        await clients.destroy(id);
        options.logs?.close(id);
        fs.rmSync(dir, { recursive: true, force: true });
        throw startError(spec, error);
      }
      watchExit(container, id);
      const failure = await waitHealthy(container, link, startTimeoutMs);
      if (failure === undefined && (await clients.healthy(instance))) return instance;
      const logs = await tailLogs(container);
      await removeContainer(container.id).catch(() => {});
      await clients.destroy(id);
      options.logs?.close(id);
      fs.rmSync(dir, { recursive: true, force: true });
      throw new LambdaError('LAMBDA_ERR_HEALTHCHECK_FAILED', { detail: failure ?? 'the health check was not answered' }, { logs });
    },

    async stop(instance) {
      await clients.destroy(instance.id);
      options.logs?.close(instance.id);
      // Both labels: an image's labels carry over to containers made from it, and other servers share the engine.
      const found = await docker.listContainers({ all: true, filters: { label: [`${LABELS.instance}=${instance.id}`, `${LABELS.server}=${options.serverId}`] } });
      await Promise.all(found.map((c) => removeContainer(c.Id)));
      fs.rmSync(path.join(instancesDir, instance.id), { recursive: true, force: true });
      options.cells?.release(instance.id);
    },

    async listManaged(): Promise<ManagedContainer[]> {
      const found = await docker.listContainers({ all: true, filters: { label: [`${LABELS.managed}=true`, `${LABELS.server}=${options.serverId}`] } });
      const classic = found.map((c) => ({
        instanceId: c.Labels[LABELS.instance] ?? '',
        fn: c.Labels[LABELS.fn] ?? '',
        sha: c.Labels[LABELS.version] ?? '',
        // A frozen instance (paused between requests) is alive: it is adopted, and thawed for its health check.
        running: c.State === 'running' || c.State === 'paused',
        socketPath: socketOf(c.Labels[LABELS.instance] ?? 'missing'),
      }));
      // Cells that became instances (their labels cannot say which function they serve; the cell pool knows).
      return [...classic, ...((await options.cells?.instances()) ?? [])];
    },

    async healthy(instance) {
      // An adopted instance (after a restart): listen again where its shim dials, and notice when it exits.
      const found = await docker.listContainers({ filters: { label: [`${LABELS.instance}=${instance.id}`, `${LABELS.server}=${options.serverId}`] } });
      if (found.length === 0) return false;
      if (found[0].State === 'paused') await docker.getContainer(found[0].Id).unpause().catch(() => {});
      options.logs?.open(instance);
      if (!(await clients.healthy(instance))) return false;
      watchExit(docker.getContainer(found[0].Id), instance.id);
      return true;
    },
  };

  function watchExit(container: Docker.Container, id: string): void {
    container.wait().then(
      async (result: { StatusCode: number }) => {
        // Docker's state tells an OOM kill from any other exit; the operator is told which.
        const reason = await exitReason(container, result.StatusCode);
        clients.gone(id, `the instance ${reason}`);
        options.onExit?.(id, reason);
      },
      () => {
        clients.gone(id, 'the instance disappeared');
        options.onExit?.(id, 'disappeared');
      },
    );
  }
}

/** Why an instance's process ended, for the operator's log: Docker's state tells an OOM kill from any other exit. */
export async function exitReason(container: Docker.Container, status: number): Promise<string> {
  if (await oomKilled(container, status)) return 'was killed for using more than its memory limit (OOM)';
  // Docker 20.10 on cgroup v2 does not always record an OOM kill: a SIGKILL nobody here sent is most likely one.
  if (status === 137) return 'was killed (SIGKILL, status 137), most likely for using more than its memory limit';
  return `exited with status ${status}`;
}

/** Docker's state says whether the kernel killed it for its memory; the engine may record that just after the exit. */
async function oomKilled(container: Docker.Container, status: number): Promise<boolean> {
  for (let attempt = 0; attempt < (status === 137 ? 5 : 1); attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    const killed = await container.inspect().then(
      (info) => info.State.OOMKilled,
      () => undefined,
    );
    if (killed !== false) return killed === true;
  }
  return false;
}

/** A container the engine refused (bad config, e.g. an env value it cannot take) is the version's fault; anything else the engine's. */
function startError(spec: InstanceSpec, error: unknown): LambdaError {
  const status = (error as { statusCode?: number }).statusCode;
  const detail = (error as Error).message;
  if (status !== undefined && status >= 400 && status < 500 && status !== 404) {
    return new LambdaError('LAMBDA_ERR_INSTANCE_START_FAILED', { name: spec.fn, detail });
  }
  return new LambdaError('LAMBDA_ERR_ENGINE_UNAVAILABLE', { detail });
}

/** The container of one instance: hardening, limits, environment, labels (cells start from the same config). */
export function containerConfig(spec: InstanceSpec, id: string, dir: string, serverId: string, region: string): Docker.ContainerCreateOptions {
  const memoryMb = String(Math.round(spec.memoryBytes / 1024 / 1024));
  const env: Record<string, string> = {
    ...spec.env,
    // What AWS Lambda sets, so code that reads them runs unchanged.
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_LAMBDA_FUNCTION_NAME: spec.fn,
    AWS_LAMBDA_FUNCTION_VERSION: String(spec.version),
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: memoryMb,
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.fn}`,
    AWS_LAMBDA_LOG_STREAM_NAME: id,
    LAMBDA_TASK_ROOT: '/var/task',
    _HANDLER: spec.handler,
    ...(spec.executionEnv ? { AWS_EXECUTION_ENV: spec.executionEnv } : {}),
    LAMBDA_HANDLER: spec.handler,
    LAMBDA_FUNCTION_NAME: spec.fn,
    LAMBDA_FUNCTION_VERSION: String(spec.version),
    LAMBDA_TIMEOUT_MS: String(spec.timeoutMs),
    LAMBDA_MEMORY_MB: memoryMb,
    LAMBDA_SOCKET_DIR: CONTAINER_SOCKET_DIR,
  };
  return {
    name: `lambda-${spec.fn}-${id}`,
    Image: spec.image,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    User: FUNCTION_USER,
    // A HEALTHCHECK the image brings (its own or one inherited from its base) would have the engine exec a command
    // in the container every interval on the function's behalf: none runs; the server checks health itself.
    Healthcheck: { Test: ['NONE'] },
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
      Binds: [`${dir}:${CONTAINER_SOCKET_DIR}:ro`],
      RestartPolicy: { Name: 'no' },
      // Only the shim's start-up output lands here (a deploy shows it when the handler fails to load); what a
      // function writes goes to its log.sock (server/instances/log-socket.ts), not through Docker's log driver.
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } },
    },
  };
}

/**
 * The instance secret reaches the program as the first line of its stdin, never through its environment: an
 * environment variable stays readable in /proc/<pid>/environ whatever the program removes later. The engine keeps
 * stdin open until the host has attached and written the line, then closes it (StdinOnce), so nothing started
 * later can read it there either.
 */
export function withSecretStdin(config: Docker.ContainerCreateOptions): Docker.ContainerCreateOptions {
  return { ...config, OpenStdin: true, StdinOnce: true, AttachStdin: true, Tty: false };
}

/** Starts a container made with withSecretStdin: attach first (so no byte is lost), start, write the secret, close stdin. */
export async function startWithSecret(container: Docker.Container, secret: string): Promise<void> {
  const stdin = (await container.attach({ stream: true, hijack: true, stdin: true, stdout: false, stderr: false })) as NodeJS.ReadWriteStream & { destroy?: () => void };
  try {
    await container.start();
    await new Promise<void>((resolve, reject) => {
      stdin.once('error', reject);
      stdin.end(`${secret}\n`, () => resolve());
    });
  } catch (error) {
    stdin.destroy?.();
    throw error;
  }
  // The engine closes the attach once stdin is closed; the host never needs it again.
  stdin.resume();
  stdin.on('error', () => {});
  setTimeout(() => stdin.destroy?.(), 10_000).unref();
}

/** Waits for the shim to dial in. Returns why it failed, or undefined once it has. */
async function waitHealthy(container: Docker.Container, link: InstanceLink, timeoutMs: number): Promise<string | undefined> {
  const exited = container.wait().then(
    (result: { StatusCode: number }) => `the process exited with status ${result.StatusCode} before answering`,
    () => 'the container disappeared before answering',
  );
  const dialled = link.ready(timeoutMs).then((ok) => (ok ? undefined : `no answer within ${timeoutMs} ms`));
  return Promise.race([exited, dialled]);
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
