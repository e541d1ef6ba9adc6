// Configuration: config/default.yaml, overridden by LAMBDA_* environment variables.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { duration, memory } from '../functions/manifest.js';

/** Bounds that keep one client, push or function from exhausting the server (docs/security.md: Limits). */
export interface Limits {
  /** Bytes all request bodies being received may hold together (LAMBDA_BODY_BUDGET). */
  bodyBudgetBytes: number;
  /** A request body (or upload) that sends nothing for this long gets 408 (LAMBDA_BODY_IDLE_TIMEOUT). */
  bodyIdleMs: number;
  /** Time to receive a request's headers (LAMBDA_HEADERS_TIMEOUT). */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included: git pushes and uploads too (LAMBDA_REQUEST_TIMEOUT). */
  requestTimeoutMs: number;
  /** A client that takes none of a function's answer for this long is closed, freeing the instance's slot (LAMBDA_SEND_TIMEOUT). */
  sendTimeoutMs: number;
  /** Compressed size of a `lambda deploy` upload and of a git push's pack (LAMBDA_MAX_UPLOAD). */
  maxUploadBytes: number;
  /** Size of a version's files once unpacked (LAMBDA_MAX_CODE_SIZE). */
  maxCodeBytes: number;
  /** The most memory a manifest may ask for (LAMBDA_MAX_MEMORY). */
  maxMemoryBytes: number;
  /** Memory for the build of a repository's own Dockerfile, runtime docker (LAMBDA_DOCKER_BUILD_MEMORY). */
  dockerBuildMemoryBytes: number;
  /** Time for that build (LAMBDA_DOCKER_BUILD_TIMEOUT). */
  dockerBuildTimeoutMs: number;
  /** Wrong API keys one client address may present per window before its 429s (LAMBDA_AUTH_FAILURES). */
  authFailures: number;
  /** That window: the allowance comes back evenly over it (LAMBDA_AUTH_FAILURE_WINDOW). */
  authFailureWindowMs: number;
  /** Wrong keys that would cost a slow hash (scrypt), for the whole server per that window (LAMBDA_AUTH_SLOW_CHECKS). */
  authSlowChecks: number;
  /** Bytes one function's async calls keep: payloads, results, errors, waiting, finished and dead-lettered (LAMBDA_ASYNC_MAX_BYTES). */
  asyncMaxBytes: number;
  /** A finished async call (succeeded, replayed) is deleted this long after it finished (LAMBDA_ASYNC_RETENTION). */
  asyncRetentionMs: number;
  /** A dead letter is deleted this long after it failed (LAMBDA_ASYNC_DLQ_RETENTION). */
  asyncDeadLetterRetentionMs: number;
  /** SSH connections not yet logged in, in all (LAMBDA_SSH_MAX_UNAUTHENTICATED); beyond, the client holding the most loses its oldest. */
  sshMaxUnauthenticated: number;
  /** The same, from one client: all of loopback is one, IPv6 by /64 (LAMBDA_SSH_MAX_UNAUTHENTICATED_PER_ADDRESS). */
  sshMaxUnauthenticatedPerAddress: number;
  /** Time an SSH connection has to log in (LAMBDA_SSH_LOGIN_TIMEOUT). */
  sshLoginTimeoutMs: number;
  /** Processes those builds may run together (LAMBDA_DOCKER_BUILD_PIDS; 0: no limit). */
  dockerBuildPids: number;
}

/** How functions scale (docs/functions.md: Scaling). */
export interface Scaling {
  /** An idle instance stops after this long, down to minInstances (LAMBDA_IDLE_TIMEOUT; a manifest's idleTimeout wins). */
  idleTimeoutMs: number;
  /** Requests that may wait for a busy function (LAMBDA_QUEUE_LENGTH); beyond, 429 at once. */
  queueLength: number;
  /** How long a request waits for a busy function before its 429 (LAMBDA_QUEUE_TIMEOUT). */
  queueTimeoutMs: number;
  /** An instance with no request this long is frozen until its next one (LAMBDA_FREEZE_AFTER; 0 = never). */
  freezeAfterMs: number;
}

export interface Config {
  port: number;
  host: string;
  sshPort: number;
  /** Address the SSH server listens on (LAMBDA_SSH_HOST; default: the HTTP server's host). */
  sshHost: string;
  domain: string;
  dataDir: string;
  baseImages: Record<string, string>;
  /** AWS_REGION (and AWS_DEFAULT_REGION) inside every function. */
  awsRegion: string;
  limits: Limits;
  scaling: Scaling;
  /** Pre-started cells kept ready per runtime for cold starts (LAMBDA_POOL_SIZE); 0 turns them off. */
  poolSize: number;
  /** Images of this many newest versions per function are kept, older ones pruned (LAMBDA_KEEP_IMAGES). */
  keepImages: number;
  /** Function traffic takes the gateway's byte path (LAMBDA_BYTE_PATH=off sends every request through Node's HTTP server). */
  bytePath: boolean;
  /** Seeds the admin key instead of generating one. */
  apiKey?: string;
  /** Where the project's own files are (buildpacks/, hooks/). */
  projectRoot: string;
}

/** The folder holding package.json, whether this runs from server/ (tsx) or dist/server/ (built). */
export const PROJECT_ROOT = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));

function findProjectRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json')) && dir !== path.dirname(dir)) dir = path.dirname(dir);
  return dir;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, file = path.join(PROJECT_ROOT, 'config', 'default.yaml')): Config {
  const defaults = (parse(fs.readFileSync(file, 'utf8')) ?? {}) as Partial<Config>;
  const baseImages: Record<string, string> = { ...(defaults.baseImages ?? {}) };
  for (const runtime of Object.keys(baseImages)) {
    const override = env[`LAMBDA_BASE_IMAGE_${runtime.toUpperCase()}`];
    if (override) baseImages[runtime] = override;
  }
  return {
    port: port(env.LAMBDA_PORT, defaults.port ?? 8080, 'LAMBDA_PORT'),
    host: env.LAMBDA_HOST ?? defaults.host ?? '0.0.0.0',
    sshPort: port(env.LAMBDA_SSH_PORT, defaults.sshPort ?? 2222, 'LAMBDA_SSH_PORT'),
    sshHost: env.LAMBDA_SSH_HOST || defaults.sshHost || env.LAMBDA_HOST || defaults.host || '0.0.0.0',
    domain: (env.LAMBDA_DOMAIN ?? defaults.domain ?? 'localhost').toLowerCase(),
    dataDir: path.resolve(env.LAMBDA_DATA_DIR ?? defaults.dataDir ?? './data'),
    baseImages,
    scaling: readScaling(env, (defaults as { scaling?: Record<string, unknown> }).scaling ?? {}),
    poolSize: poolSize(env.LAMBDA_POOL_SIZE ?? (defaults as { poolSize?: unknown }).poolSize),
    limits: readLimits(env, (defaults as { limits?: Record<string, unknown> }).limits ?? {}),
    awsRegion: env.LAMBDA_AWS_REGION || defaults.awsRegion || 'us-east-1',
    keepImages: keepImages(env.LAMBDA_KEEP_IMAGES ?? (defaults as { keepImages?: unknown }).keepImages),
    bytePath: onOff(env.LAMBDA_BYTE_PATH, true, 'LAMBDA_BYTE_PATH'),
    apiKey: env.LAMBDA_API_KEY || undefined,
    projectRoot: PROJECT_ROOT,
  };
}

function poolSize(value: unknown): number {
  if (value === undefined || value === '') return 2;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 64) throw new Error(`LAMBDA_POOL_SIZE must be a whole number from 0 to 64, got ${JSON.stringify(value)}`);
  return parsed;
}

function keepImages(value: unknown): number {
  if (value === undefined || value === '') return 10;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 1000) throw new Error(`LAMBDA_KEEP_IMAGES must be a whole number from 1 to 1000, got ${JSON.stringify(value)}`);
  return parsed;
}

function onOff(value: string | undefined, fallback: boolean, name: string): boolean {
  if (value === undefined || value === '') return fallback;
  if (value === 'on' || value === '1') return true;
  if (value === 'off' || value === '0') return false;
  throw new Error(`${name} must be on or off, got ${JSON.stringify(value)}`);
}

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new Error(`${name} must be a port number, got "${value}"`);
  return parsed;
}

/** Each limit's variable and kind; `zero` marks a count for which 0 means no limit. */
const LIMITS: Record<keyof Limits, { env: string; kind: 'size' | 'duration' | 'count'; zero?: true }> = {
  bodyBudgetBytes: { env: 'LAMBDA_BODY_BUDGET', kind: 'size' },
  bodyIdleMs: { env: 'LAMBDA_BODY_IDLE_TIMEOUT', kind: 'duration' },
  headersTimeoutMs: { env: 'LAMBDA_HEADERS_TIMEOUT', kind: 'duration' },
  requestTimeoutMs: { env: 'LAMBDA_REQUEST_TIMEOUT', kind: 'duration' },
  sendTimeoutMs: { env: 'LAMBDA_SEND_TIMEOUT', kind: 'duration' },
  maxUploadBytes: { env: 'LAMBDA_MAX_UPLOAD', kind: 'size' },
  maxCodeBytes: { env: 'LAMBDA_MAX_CODE_SIZE', kind: 'size' },
  maxMemoryBytes: { env: 'LAMBDA_MAX_MEMORY', kind: 'size' },
  dockerBuildMemoryBytes: { env: 'LAMBDA_DOCKER_BUILD_MEMORY', kind: 'size' },
  dockerBuildTimeoutMs: { env: 'LAMBDA_DOCKER_BUILD_TIMEOUT', kind: 'duration' },
  authFailures: { env: 'LAMBDA_AUTH_FAILURES', kind: 'count' },
  authFailureWindowMs: { env: 'LAMBDA_AUTH_FAILURE_WINDOW', kind: 'duration' },
  authSlowChecks: { env: 'LAMBDA_AUTH_SLOW_CHECKS', kind: 'count' },
  asyncMaxBytes: { env: 'LAMBDA_ASYNC_MAX_BYTES', kind: 'size' },
  asyncRetentionMs: { env: 'LAMBDA_ASYNC_RETENTION', kind: 'duration' },
  asyncDeadLetterRetentionMs: { env: 'LAMBDA_ASYNC_DLQ_RETENTION', kind: 'duration' },
  sshMaxUnauthenticated: { env: 'LAMBDA_SSH_MAX_UNAUTHENTICATED', kind: 'count' },
  sshMaxUnauthenticatedPerAddress: { env: 'LAMBDA_SSH_MAX_UNAUTHENTICATED_PER_ADDRESS', kind: 'count' },
  sshLoginTimeoutMs: { env: 'LAMBDA_SSH_LOGIN_TIMEOUT', kind: 'duration' },
  dockerBuildPids: { env: 'LAMBDA_DOCKER_BUILD_PIDS', kind: 'count', zero: true },
};

/** A whole number from YAML or a variable, else undefined. */
function count(raw: unknown): number | undefined {
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** Each limit from its variable, else config/default.yaml's `limits:`; sizes like "64Mi", durations like "10s". */
function readLimits(env: NodeJS.ProcessEnv, defaults: Record<string, unknown>): Limits {
  const limits = {} as Limits;
  for (const [key, { env: name, kind, zero }] of Object.entries(LIMITS) as [keyof Limits, (typeof LIMITS)[keyof Limits]][]) {
    const raw = env[name] || defaults[key];
    const value = kind === 'size' ? memory(raw) : kind === 'count' ? count(raw) : duration(raw);
    if (value === undefined || value < 0 || (value === 0 && !zero)) {
      const expected = kind === 'size' ? 'size such as "64Mi"' : kind === 'count' ? `whole number such as "10"${zero ? ' (0: no limit)' : ''}` : 'duration such as "10s"';
      throw new Error(`${name} (limits.${key}) must be a ${expected}, got ${JSON.stringify(raw)}`);
    }
    limits[key] = value;
  }
  return limits;
}

function readScaling(env: NodeJS.ProcessEnv, defaults: Record<string, unknown>): Scaling {
  const idle = duration(env.LAMBDA_IDLE_TIMEOUT || defaults.idleTimeoutMs || '5m');
  const wait = duration(env.LAMBDA_QUEUE_TIMEOUT || defaults.queueTimeoutMs || '5s');
  const length = Number(env.LAMBDA_QUEUE_LENGTH || defaults.queueLength || 100);
  const freezeSetting = env.LAMBDA_FREEZE_AFTER ?? defaults.freezeAfterMs ?? '1s';
  const freeze = freezeSetting === '0' || freezeSetting === 0 ? 0 : duration(freezeSetting);
  if (freeze === undefined) throw new Error(`LAMBDA_FREEZE_AFTER must be a duration such as "1s" (or 0 for never), got ${JSON.stringify(freezeSetting)}`);
  if (idle === undefined || idle <= 0) throw new Error(`LAMBDA_IDLE_TIMEOUT must be a duration such as "5m", got ${JSON.stringify(env.LAMBDA_IDLE_TIMEOUT)}`);
  if (wait === undefined || wait <= 0) throw new Error(`LAMBDA_QUEUE_TIMEOUT must be a duration such as "5s", got ${JSON.stringify(env.LAMBDA_QUEUE_TIMEOUT)}`);
  if (!Number.isInteger(length) || length < 0) throw new Error(`LAMBDA_QUEUE_LENGTH must be a whole number, got ${JSON.stringify(env.LAMBDA_QUEUE_LENGTH)}`);
  return { idleTimeoutMs: idle, queueLength: length, queueTimeoutMs: wait, freezeAfterMs: freeze };
}
