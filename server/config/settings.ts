// The settings table: every setting the server reads, with its variable, its YAML key (its path in this table), its default, kind, unit and doc line.
import { count, duration, oneOf, onOff, port, size, text, type Kind, type Raw } from './kinds.js';

export interface Setting<T> {
  /** The environment variable that overrides config/default.yaml. */
  variable: string;
  /** False for a setting read from the environment only (a secret does not belong in a file of the checkout). */
  inFile: boolean;
  kind: Kind<T>;
  /**
   * The default, written as config/default.yaml and docs/configuration.md write it. The defaults live here rather than
   * in config/default.yaml: a setting with no YAML key has one too, a module's tests need no file, and the value is
   * read by the same kind that reads an override. config/default.yaml shows them and a test keeps it equal.
   */
  default: Raw | undefined;
  /** What docs/configuration.md says when there is no default value (one derived at start). */
  shown?: string;
  /** The unit column of docs/configuration.md. */
  unit: string;
  /** What the setting does: the last column of docs/configuration.md. */
  doc: string;
}

/** A branch of the table: settings and sections of settings, as config/default.yaml nests them. */
export interface Section {
  [key: string]: Setting<unknown> | Section;
}

/** The loaded values of a table or section, typed by each setting's kind. */
export type Loaded<S> = { [K in keyof S]: S[K] extends Setting<infer V> ? V : Loaded<S[K]> };

type Spec<T> = Omit<Setting<T>, 'inFile' | 'default'> & { inFile?: false };

function setting<T>(spec: Spec<T> & { default: Raw }): Setting<T> {
  return { inFile: true, ...spec };
}

/** A setting that may stay unset: `shown` says what then happens. */
function optional<T>(spec: Spec<T> & { shown: string }): Setting<T | undefined> {
  return { inFile: true, ...spec, default: undefined };
}

const hostName: Kind<string> = { ...text, read: (raw) => text.read(raw)?.toLowerCase() };
const baseImage = (unit: string, doc: string, variable: string) => setting({ variable, kind: text, default: 'local', unit, doc });

export const SETTINGS = {
  port: setting({ variable: 'LAMBDA_PORT', kind: port, default: 8080, unit: 'TCP port', doc: 'the one HTTP listener: function traffic, REST API, git over HTTP' }),
  host: setting({ variable: 'LAMBDA_HOST', kind: text, default: '0.0.0.0', unit: 'address', doc: 'where that listener binds' }),
  sshPort: setting({ variable: 'LAMBDA_SSH_PORT', kind: port, default: 2222, unit: 'TCP port', doc: 'commands and git over SSH; 0 picks a free port and the start line says which' }),
  sshHost: optional({ variable: 'LAMBDA_SSH_HOST', kind: text, shown: "the HTTP listener's address", unit: 'address', doc: 'where SSH binds' }),
  domain: setting({ variable: 'LAMBDA_DOMAIN', kind: hostName, default: 'localhost', unit: 'host name', doc: 'functions answer at `http://<name>.<domain>:<port>` (read lower-cased)' }),
  dataDir: setting({ variable: 'LAMBDA_DATA_DIR', kind: text, default: './data', unit: 'path', doc: 'SQLite, bare repositories, instance sockets, `logs/`, `cells/`, build scratch (made 0700); a relative path is from the working directory' }),
  apiKey: optional({ variable: 'LAMBDA_API_KEY', kind: text, inFile: false, shown: 'none: the first start generates one', unit: '16+ characters', doc: "the admin API token's key; a new value revokes the key an earlier value made" }),
  awsRegion: setting({ variable: 'LAMBDA_AWS_REGION', kind: text, default: 'us-east-1', unit: 'region name', doc: '`AWS_REGION` and `AWS_DEFAULT_REGION` inside functions' }),
  baseImages: {
    node20: baseImage('`local`, `official` or an image', "`local` assembles the base from this machine's `node` (and the install image from it plus its C/C++ toolchain); `official` is `node:20-bookworm-slim` (installs: `node:20-bookworm`)", 'LAMBDA_BASE_IMAGE_NODE20'),
    python3: baseImage('`local`, `official` or an image', "`local` assembles it from this machine's `python3`; `official` is `python:3.11-slim-bookworm`", 'LAMBDA_BASE_IMAGE_PYTHON3'),
  },
  cells: setting({ variable: 'LAMBDA_CELLS', kind: count(0, 64), default: 2, unit: 'cells per runtime, 0–64', doc: 'pre-started cells kept per runtime at rest, the pool\'s floor; 0 turns them off (in swarm mode cells are one version\'s, made on demand with no floor: any value but 0 turns them on)' }),
  poolMaxBytes: setting({ variable: 'LAMBDA_POOL_MAX', kind: size(0), default: '256Mi', unit: 'size', doc: "private memory the ready cells above the floor may hold together: the most a burst or a schedule grows the pool to (0: never above the floor)" }),
  boots: setting({ variable: 'LAMBDA_BOOTS', kind: count(0, 64), default: 0, unit: 'containers, 0–64', doc: "containers booting at once (classic starts and cells; one function holds at most half), the rest wait their turn (a start at most 20 s); 0: twice the machine's cores" }),
  engine: setting({ variable: 'LAMBDA_ENGINE', kind: oneOf('local', 'swarm'), default: 'local', unit: '`local` or `swarm`', doc: "`swarm` runs instances as services of the Docker Swarm whose manager's engine the server reaches (`DOCKER_HOST`, the engine's own variable, by default this machine's socket; docs/swarm.md); `local` on this machine's engine" }),
  swarm: {
    registryPush: setting({ variable: 'LAMBDA_SWARM_REGISTRY_PUSH', kind: text, default: '127.0.0.1:5001', unit: 'host:port', doc: "swarm mode: the registry's write side as the manager's engine reaches it; each version's image is pushed there once" }),
    registryPull: optional({ variable: 'LAMBDA_SWARM_REGISTRY_PULL', kind: text, shown: 'none: needed in swarm mode', unit: 'host:port', doc: "swarm mode: the registry's read-only side as every node's engine reaches it; instances' images are named there" }),
    registryDir: optional({ variable: 'LAMBDA_SWARM_REGISTRY_DIR', kind: text, shown: '`registry/` in the data folder', unit: 'path', doc: "swarm mode: the registry's storage, where the server writes its two sides' configuration (`write.yml`, `read.yml`) at start and runs its garbage collection" }),
    registryCollectEvery: setting({ variable: 'LAMBDA_SWARM_REGISTRY_COLLECT_EVERY', kind: count(1, 10000), default: 50, unit: 'deletions, 1–10000', doc: "swarm mode: the registry's garbage collection runs after this many versions' images are deleted from it, and daily" }),
    nodeSocket: setting({ variable: 'LAMBDA_SWARM_NODE_SOCKET', kind: text, default: '/var/run/docker.sock', unit: 'path', doc: "swarm mode: the engine's socket as every node has it, mounted into the job that removes the versions no longer kept from each node's engine; `{{.Node.ID}}` in it is the node's id" }),
  },
  keepImages: setting({ variable: 'LAMBDA_KEEP_IMAGES', kind: count(1, 1000), default: 10, unit: 'versions, 1–1000', doc: "images of the newest versions kept per function (and the live one's)" }),
  bytePath: setting({ variable: 'LAMBDA_BYTE_PATH', kind: onOff, default: 'on', unit: '`on` or `off`', doc: "`off` sends all function traffic through Node's path instead of the byte path" }),
  scaling: {
    idleTimeoutMs: setting({ variable: 'LAMBDA_IDLE_TIMEOUT', kind: duration(), default: '5m', unit: 'duration', doc: "an idle instance stops, down to `minInstances` (a manifest's `idleTimeout` wins)" }),
    queueLength: setting({ variable: 'LAMBDA_QUEUE_LENGTH', kind: count(0, 100_000), default: 100, unit: 'requests per function, 0–100000', doc: 'requests that may wait for a busy function, then 429 (0: 429 at once)' }),
    queueTimeoutMs: setting({ variable: 'LAMBDA_QUEUE_TIMEOUT', kind: duration(), default: '5s', unit: 'duration', doc: 'how long one waits before its 429' }),
    freezeAfterMs: setting({ variable: 'LAMBDA_FREEZE_AFTER', kind: duration(0), default: '1s', unit: 'duration', doc: 'an instance with no request this long is paused until its next one (0: never)' }),
  },
  limits: {
    bodyBudgetBytes: setting({ variable: 'LAMBDA_BODY_BUDGET', kind: size(), default: '64Mi', unit: 'size', doc: 'all request bodies held together: being received, or read for requests waiting or being served (503 beyond)' }),
    bodyIdleMs: setting({ variable: 'LAMBDA_BODY_IDLE_TIMEOUT', kind: duration(), default: '10s', unit: 'duration', doc: 'a body that sends nothing this long gets 408' }),
    headersTimeoutMs: setting({ variable: 'LAMBDA_HEADERS_TIMEOUT', kind: duration(), default: '15s', unit: 'duration', doc: 'time to send the request headers (408 after)' }),
    requestTimeoutMs: setting({ variable: 'LAMBDA_REQUEST_TIMEOUT', kind: duration(), default: '120s', unit: 'duration', doc: 'time to send a whole request, git pushes and uploads included (408 after)' }),
    sendTimeoutMs: setting({ variable: 'LAMBDA_SEND_TIMEOUT', kind: duration(), default: '10s', unit: 'duration', doc: "a client that takes none of a function's answer this long is closed, the instance's slot freed" }),
    maxUploadBytes: setting({ variable: 'LAMBDA_MAX_UPLOAD', kind: size(), default: '100Mi', unit: 'size', doc: "a `lambda deploy` upload (compressed), a git push's pack" }),
    maxCodeBytes: setting({ variable: 'LAMBDA_MAX_CODE_SIZE', kind: size(), default: '250Mi', unit: 'size', doc: "a version's files unpacked; one file a Dockerfile build writes, and what its image adds" }),
    maxCellFilesBytes: setting({ variable: 'LAMBDA_MAX_CELL_FILES', kind: size(), default: '4Gi', unit: 'size', doc: "versions' files kept for cells (`cells/versions`, `cells/store`), each distinct file counted once; a version past it starts as its own container" }),
    maxMemoryBytes: setting({ variable: 'LAMBDA_MAX_MEMORY', kind: size(), default: '4Gi', unit: 'size', doc: "the most a manifest's `memory` may ask for" }),
    dockerBuildMemoryBytes: setting({ variable: 'LAMBDA_DOCKER_BUILD_MEMORY', kind: size(), default: '1Gi', unit: 'size', doc: 'memory of a `docker` runtime build (one CPU)' }),
    dockerBuildTimeoutMs: setting({ variable: 'LAMBDA_DOCKER_BUILD_TIMEOUT', kind: duration(), default: '10m', unit: 'duration', doc: 'time of that build, then it is cancelled and the push rejected' }),
    authFailures: setting({ variable: 'LAMBDA_AUTH_FAILURES', kind: count(1, 1_000_000), default: 10, unit: 'wrong keys per window', doc: 'wrong API keys one client address may present (then 429, nothing hashed)' }),
    authFailureWindowMs: setting({ variable: 'LAMBDA_AUTH_FAILURE_WINDOW', kind: duration(), default: '1m', unit: 'duration', doc: 'that window; the allowance comes back evenly over it' }),
    authSlowChecks: setting({ variable: 'LAMBDA_AUTH_SLOW_CHECKS', kind: count(1, 1_000_000), default: 100, unit: 'keys per window', doc: 'keys checked with scrypt, whole server (then 429; generated keys still checked)' }),
    asyncMaxBytes: setting({ variable: 'LAMBDA_ASYNC_MAX_BYTES', kind: size(), default: '64Mi', unit: 'size per function', doc: "what one function's async calls keep: payloads, results, errors, dead letters (429 beyond)" }),
    asyncRetentionMs: setting({ variable: 'LAMBDA_ASYNC_RETENTION', kind: duration(), default: '24h', unit: 'duration', doc: 'a finished async call is deleted this long after it finished' }),
    asyncDeadLetterRetentionMs: setting({ variable: 'LAMBDA_ASYNC_DLQ_RETENTION', kind: duration(), default: '336h', unit: 'duration', doc: 'a dead letter is deleted this long after it failed (14 days)' }),
    sshMaxUnauthenticated: setting({ variable: 'LAMBDA_SSH_MAX_UNAUTHENTICATED', kind: count(1, 1_000_000), default: 100, unit: 'connections', doc: 'SSH connections not logged in, in all (beyond, the client holding the most loses its oldest)' }),
    sshMaxUnauthenticatedPerAddress: setting({ variable: 'LAMBDA_SSH_MAX_UNAUTHENTICATED_PER_ADDRESS', kind: count(1, 1_000_000), default: 10, unit: 'connections', doc: 'the same from one client (all of loopback is one; IPv6 by /64)' }),
    sshLoginTimeoutMs: setting({ variable: 'LAMBDA_SSH_LOGIN_TIMEOUT', kind: duration(), default: '10s', unit: 'duration', doc: 'time to log in over SSH, then the connection is closed' }),
    dockerBuildPids: setting({ variable: 'LAMBDA_DOCKER_BUILD_PIDS', kind: count(0, 4_194_304), default: 512, unit: 'processes per build', doc: 'processes of a `docker` runtime build (0: no limit)' }),
  },
  logs: {
    // A file holds at least a few whole lines (a line is cut at 64 KiB).
    fileBytes: setting({ variable: 'LAMBDA_LOG_FILE_SIZE', kind: size(256 * 1024), default: '10Mi', unit: 'size, from 256Ki', doc: 'one function log file, then it is rotated' }),
    files: setting({ variable: 'LAMBDA_LOG_FILES', kind: count(1, 100), default: 3, unit: 'files, 1–100', doc: 'log files kept per function, the current one included' }),
    ratePerSecond: setting({ variable: 'LAMBDA_LOG_RATE', kind: size(64 * 1024), default: '8Mi', unit: 'bytes per second per function, from 64Ki', doc: 'beyond, lines are dropped and counted (`[lambda] N lines dropped`)' }),
  },
  async: {
    queueMax: setting({ variable: 'LAMBDA_ASYNC_QUEUE_MAX', kind: count(1, 10_000_000), default: 10_000, unit: 'calls per function', doc: 'async calls waiting, then 429 `LAMBDA_ERR_QUEUE_FULL`' }),
    concurrency: setting({ variable: 'LAMBDA_ASYNC_CONCURRENCY', kind: count(1, 1000), default: 16, unit: 'calls per function, 1–1000', doc: 'queued calls the workers run at once (never above `maxInstances × concurrency`)' }),
    retryBaseMs: setting({ variable: 'LAMBDA_RETRY_BASE_MS', kind: duration(0, 3_600_000), default: '1m', unit: 'duration, up to 1h', doc: "wait before a failed async call's first retry; the second waits twice as long" }),
  },
  schedules: {
    warmAheadMs: setting({ variable: 'LAMBDA_SCHEDULE_WARM', kind: duration(0, 60_000), default: '30s', unit: 'duration, up to 1m', doc: "how long before a firing a cell is made ready for its function (0: never)" }),
    graceMs: setting({ variable: 'LAMBDA_SCHEDULE_GRACE_MS', kind: duration(0, 3_600_000), default: '1s', unit: 'duration, up to 1h', doc: 'a cron time this late is logged as missed, not run' }),
  },
  metrics: {
    enabled: setting({ variable: 'LAMBDA_METRICS', kind: onOff, default: 'on', unit: '`on` or `off`', doc: '`off` counts nothing: `/metrics` answers 404 and no per-minute rows are written' }),
    retentionMs: setting({ variable: 'LAMBDA_METRICS_RETENTION', kind: duration(60_000), default: '14d', unit: 'duration, from 1m', doc: 'metrics rows older than this are deleted (hourly; rows older than 2h cover 15 minutes, older than 2d an hour)' }),
  },
} satisfies Section;

export type Settings = Loaded<typeof SETTINGS>;

/** Every setting with its dotted path (its YAML key when `inFile`), in the table's order. */
export function eachSetting(section: Section = SETTINGS, prefix = ''): [string, Setting<unknown>][] {
  return Object.entries(section).flatMap(([key, entry]) =>
    'variable' in entry && typeof entry.variable === 'string' ? [[prefix + key, entry as Setting<unknown>]] : eachSetting(entry as Section, `${prefix}${key}.`),
  );
}
