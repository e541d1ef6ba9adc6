// The Docker implementation of Sandbox: one throwaway, hardened container per untrusted job (dependency installs).
import type Docker from 'dockerode';
import { LambdaError } from '../errors.js';
import type { Sandbox, SandboxResult, SandboxRun } from '../instances/engine.js';
import { LABELS, ownFilter } from '../instances/labels.js';
import { FUNCTION_USER } from './container-config.js';
import { removeContainer, removeContainersWhere } from './containers.js';
import { newInstanceId } from './instance-folders.js';
import { runOutput } from './output-lines.js';

export interface DockerSandboxOptions {
  docker: Docker;
  /** Labels the containers, so a server (or a test) only ever touches its own. */
  serverId: string;
}

export function createDockerSandbox(options: DockerSandboxOptions): Sandbox {
  const { docker } = options;
  // A server that died mid-install leaves its sandbox behind: remove those once, before this server starts any.
  let leftovers: Promise<void> | undefined;
  const removeLeftovers = async () => {
    await removeContainersWhere(docker, ownFilter(options.serverId, `${LABELS.sandbox}=true`));
  };
  return {
    async run(request, onLine) {
      leftovers ??= removeLeftovers().catch(() => {});
      await leftovers;
      let container: Docker.Container;
      try {
        container = await docker.createContainer(sandboxConfig(request, options.serverId));
      } catch (error) {
        throw new LambdaError('LAMBDA_ERR_ENGINE_UNAVAILABLE', { detail: (error as Error).message });
      }
      try {
        return await runToEnd(docker, container, request.timeoutMs, onLine);
      } finally {
        await removeContainer(docker, container.id).catch(() => {});
      }
    },
  };
}

/** The container's configuration: exported so a unit test can read every hardening flag without an engine. */
export function sandboxConfig(request: SandboxRun, serverId: string): Docker.ContainerCreateOptions {
  const tmpfs: Record<string, string> = {};
  let scratchBytes = 0;
  for (const [where, bytes] of Object.entries(request.scratch)) {
    // uid/gid make the tmpfs writable for the job's user only; noexec unless the job runs what it writes there.
    const exec = request.runnable?.includes(where) ? 'exec' : 'noexec';
    tmpfs[where] = `rw,${exec},nosuid,nodev,size=${bytes},uid=10001,gid=10001,mode=0700`;
    scratchBytes += bytes;
  }
  const limit = request.memoryBytes + scratchBytes;
  return {
    name: `lambda-sandbox-${newInstanceId()}`,
    Image: request.image,
    Cmd: request.command,
    Env: Object.entries(request.env).map(([key, value]) => `${key}=${value}`),
    WorkingDir: request.workingDir,
    // The unprivileged user functions run as.
    User: FUNCTION_USER,
    // No engine-run command inside the job, whatever HEALTHCHECK its image carries.
    Healthcheck: { Test: ['NONE'] },
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    Labels: { ...request.labels, [LABELS.server]: serverId, [LABELS.sandbox]: 'true' },
    HostConfig: {
      // No interface but the container's own loopback: the host's 127.0.0.1 services are unreachable.
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Tmpfs: tmpfs,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: 128,
      Memory: limit,
      MemorySwap: limit,
      NanoCpus: 1_000_000_000,
      Binds: [`${request.inputDir}:${request.inputMount}:ro`, ...(request.readOnlyMounts ?? []).map((dir) => `${dir}:${dir}:ro`)],
      RestartPolicy: { Name: 'no' },
      // Gone when it ends even if this server is not there to remove it.
      AutoRemove: true,
      LogConfig: { Type: 'none', Config: {} },
    },
  };
}

async function runToEnd(docker: Docker, container: Docker.Container, timeoutMs: number, onLine: (line: string) => void): Promise<SandboxResult> {
  // Bounded per line and per run: a job writing without newlines or without end costs the server no more than that.
  const output = runOutput(onLine);
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const ended = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    docker.modem.demuxStream(stream, output.source(), output.source());
    // next-exit: a container that is only created counts as "not running", which the default condition answers at once.
    const exited = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>;
    await container.start();
    timer = setTimeout(() => {
      timedOut = true;
      container.kill().catch(() => {});
    }, timeoutMs);
    const { StatusCode } = await exited;
    // The output may still be in flight when wait() answers; the attach stream ends right after the container.
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    output.flush();
    return { exitCode: StatusCode, timedOut };
  } catch (error) {
    throw new LambdaError('LAMBDA_ERR_ENGINE_UNAVAILABLE', { detail: (error as Error).message });
  } finally {
    clearTimeout(timer);
  }
}
