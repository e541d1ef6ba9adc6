// What an instance's container is made with: hardening, limits, the AWS-compatible environment, labels, its socket
// folder; and the same for a cell, which is an instance of no function yet.
import type Docker from 'dockerode';
import type { InstanceSpec } from '../instances/engine.js';
import { LABELS } from '../instances/labels.js';
import { CONTAINER_SOCKET_DIR } from './instance-folders.js';

/** The non-root user every function and every untrusted job runs as (one of the ways their containers are hardened). */
export const FUNCTION_USER = '10001:10001';
export const DEFAULT_REGION = 'us-east-1';
/** Images carry lambda.managed=true (server/engine/images.ts) and containers inherit it: a cell's own says it is no function's. */
export const NOT_A_FUNCTION = { [LABELS.managed]: 'false' };
/** The cell's boot environment keeps the platform's LAMBDA_* settings, but nothing of a function. */
const FUNCTION_SETTINGS = /^(LAMBDA_HANDLER|LAMBDA_FUNCTION_NAME|LAMBDA_FUNCTION_VERSION|LAMBDA_TIMEOUT_MS|LAMBDA_MEMORY_MB)=/;

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

/** A cell's boot environment from an instance's: the platform's LAMBDA_* settings (its link) and LAMBDA_CELL=1, nothing of a function. */
export function cellEnv(instanceEnv: string[]): string[] {
  return [...instanceEnv.filter((entry) => entry.startsWith('LAMBDA_') && !FUNCTION_SETTINGS.test(entry)), 'LAMBDA_CELL=1'];
}

/** What a cell boots as, before it knows its function. */
export interface CellBoot {
  runtime: string;
  id: string;
  image: string;
  memoryBytes: number;
  socketDir: string;
  /** The cell's task folder on the host, mounted read-only at `taskRoot`: empty until the cell is specialised. */
  taskDir: string;
  taskRoot: string;
}

/** A cell's container: the very config of an instance (hardening, limits, socket folder), for no function yet. */
export function cellConfig(cell: CellBoot, serverId: string, region: string): Docker.ContainerCreateOptions {
  const idle: InstanceSpec = { fn: 'cell', version: 0, sha: '', image: cell.image, handler: '', timeoutMs: 0, memoryBytes: cell.memoryBytes, concurrency: 1, minInstances: 0, maxInstances: 0, env: {} };
  const config = containerConfig(idle, cell.id, cell.socketDir, serverId, region);
  return {
    ...config,
    name: `lambda-cell-${cell.runtime}-${cell.id}`,
    Env: cellEnv(config.Env ?? []),
    Labels: { ...NOT_A_FUNCTION, [LABELS.server]: serverId, [LABELS.instance]: cell.id, [LABELS.cell]: cell.runtime },
    HostConfig: { ...config.HostConfig, Binds: [...(config.HostConfig?.Binds ?? []), `${cell.taskDir}:${cell.taskRoot}:ro`] },
  };
}
