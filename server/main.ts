// The composition root: builds every dependency once, wires the adapters and runs the server.
import fs from 'node:fs';
import path from 'node:path';
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from './config/load.js';
import { openStore } from './store/sqlite.js';
import { InstanceClients } from './instances/requests/client.js';
import { buildPidsLimit, connectDocker, createEngine } from './engine/start.js';
import { createInstanceExits } from './instances/exits.js';
import { cellRecipes } from './instances/cells/image.js';
import { ensureBaseImage } from './builder/base/base-image.js';
import { createDockerSandbox } from './engine/sandbox.js';
import { createPool, type InstancePool } from './instances/pool/pool.js';
import type { CellPool } from './instances/engine.js';
import { createDispatch } from './instances/requests/dispatch.js';
import { InstanceLogSockets } from './instances/log-socket.js';
import { createLogStore } from './logs/store.js';
import { BUILD_LIMITS } from './logs/builds.js';
import { loadBuildpacks } from './builder/buildpacks.js';
import { createBuilder } from './builder/build.js';
import { bootstrapAdminKey, createKeyVerifier } from './access/token-check.js';
import { createAuthLimiter } from './access/auth-limit.js';
import type { Manifest } from './functions/manifest.js';
import { restore } from './functions/restore.js';
import type { Deps } from './functions/deps.js';
import { createRepos } from './git/repos.js';
import { createGitHttp } from './git/http.js';
import { createFunctionRepos } from './git/function-repos.js';
import { startControlServer } from './git/control.js';
import { createApi } from './api/router.js';
import { createForwarder } from './traffic/node-path.js';
import { createFunctionGuard } from './traffic/function-auth.js';
import { createHttpServer } from './listener.js';
import { DASHBOARD_LABEL } from './http/routes.js';
import { createDashboard } from './dashboard/serve.js';
import { createBodyReader } from './http/body.js';
import { createCollector } from './http/collect.js';
import { dataDirKey, lockDataDir, prepareDataDir } from './config/data-dir.js';
import { run as runCli } from '../cli/main.js';
import { createSshKeyLookup } from './access/ssh-keys.js';
import { loadHostKey } from './ssh/host-key.js';
import { createLoopbackCredentials } from './ssh/loopback.js';
import { startSshServer } from './ssh/server.js';
import { platformLog } from './logs/platform-log.js';
import { stepLine, warnLine } from './logs/progress-text.js';
import { adminTokenLines, dashboardLine, httpListenLine, sshListenLine } from './logs/start-lines.js';
import { createScheduler } from './schedules/scheduler.js';
import { createQueueWorkers, workerSettings } from './queue/workers.js';
import { syncSchedules } from './schedules/verbs.js';
import { enqueueInvocation } from './queue/invocations.js';
import { createRecorder } from './metrics/recorder.js';
import { prunable } from './functions/prune.js';
import { bearerToken } from './access/token-check.js';
import { clientOf } from './access/auth-limit.js';

export interface RunningServer {
  url: string;
  port: number;
  /** The SSH server's port. */
  sshPort: number;
  /** Set when this start generated the admin key. */
  generatedKey?: string;
  close(): Promise<void>;
}

export async function startServer(config: Config, log: (line: string) => void = console.log): Promise<RunningServer> {
  prepareDataDir(config.dataDir);
  const unlockDataDir = await lockDataDir(config.dataDir);
  const store = openStore(path.join(config.dataDir, 'lambda.db'));
  const { generated, seedId, revoked } = bootstrapAdminKey(store, config.apiKey);
  if (revoked) log(stepLine(`LAMBDA_API_KEY changed: revoked the ${revoked} key(s) it held before`));

  const warn = (line: string) => log(warnLine(line));
  const clients = new InstanceClients(dataDirKey(config.dataDir, 'instance-key'));
  // Function output: received on each instance's log.sock, kept per function in data/logs (LAMBDA_LOG_* bound it).
  const functionLogs = createLogStore({ dir: path.join(config.dataDir, 'logs'), ...config.logs, ...BUILD_LIMITS, warn });
  // Metrics: told by dispatch, the log sockets, deploys, the scheduler; `/metrics` checks keys with the REST API's check,
  // which exists further down (checkKey).
  let verifyMetricsKey = async (_req: http.IncomingMessage): Promise<boolean> => false;
  let instanceCounts: () => ReturnType<InstancePool['counts']> = () => ({});
  let cellStatus: () => ReturnType<CellPool['status']> = () => ({});
  // What clients hold in the listener (bodies being received, open connections): read once both exist.
  let held = { bodyBytes: () => 0, connections: async () => 0 };
  const recorder = createRecorder({
    ...config.metrics,
    store,
    sources: {
      functions: () => store.functions.list().map((fn) => fn.name),
      instances: () => instanceCounts(),
      queues: () => store.invocations.stats(),
      deadLetters: () => store.invocations.deadLetters(),
      cells: () => cellStatus(),
      bodyBytes: () => held.bodyBytes(),
      connections: () => held.connections(),
    },
    verify: (req) => verifyMetricsKey(req),
    // A version whose image was pruned has no series (docs/metrics.md: cardinality); its rows do not seed them.
    keepVersion: (fn, version) => {
      const versions = store.lifecycle.versions(fn);
      return !prunable(versions, store.functions.get(fn)?.liveVersion, config.keepImages).some((each) => each.number === version);
    },
    warn,
  });
  recorder.start();
  const metrics = recorder.metrics;
  const instanceLogs = new InstanceLogSockets(functionLogs, {
    ratePerSecond: config.logs.ratePerSecond,
    versionOf: (fn, sha) => store.versions.bySha(fn, sha)?.number,
    warn,
    maxMemory: (fn, version, mb) => metrics.memory(fn, version, mb),
  });
  const docker = await connectDocker(config.engine);
  const buildpacks = loadBuildpacks(path.join(config.projectRoot, 'buildpacks'));
  const installation = serverId(config.dataDir);
  // The engine reports an instance's end to the pool, which is built from the engine: it listens once both exist.
  const exits = createInstanceExits();
  const { engine, cells } = createEngine(docker, {
    clients,
    dataDir: config.dataDir,
    serverId: installation,
    region: config.awsRegion,
    cells: config.cells,
    poolMaxBytes: config.poolMaxBytes,
    boots: config.boots,
    cellFilesBytes: config.limits.maxCellFilesBytes,
    kind: config.engine,
    registry: { push: config.swarm.registryPush, pull: config.swarm.registryPull, dir: config.swarm.registryDir, collectEvery: config.swarm.registryCollectEvery, nodeSocket: config.swarm.nodeSocket },
    logs: instanceLogs,
    exits,
    recipes: (images) =>
      cellRecipes([...buildpacks.values()], (name) => {
        const pack = buildpacks.get(name) as NonNullable<ReturnType<typeof buildpacks.get>>;
        return ensureBaseImage(images, pack, config.baseImages[name] ?? 'local', path.join(config.dataDir, 'cells', 'build'), (line) => log(stepLine(line)));
      }),
    warn,
  });
  const pool = createPool(engine, clients, warn, { ...config.scaling, switchSettleMs: 500 });
  instanceCounts = () => pool.counts();
  cellStatus = () => cells?.status() ?? {};
  // An instance that ends while it serves is forgotten at once, with one line saying why.
  exits.listen((id, reason) => {
    if (pool.exited(id)) log(warnLine(`instance ${id} ${reason}; a fresh one takes the next requests`));
  });
  const dispatch = createDispatch(pool, clients, (id) => instanceLogs.sent(id), metrics);
  // Bodies that filled much of the budget are collected once released, not left to an idle server (http/collect.ts).
  const collector = createCollector();
  const readBody = createBodyReader({ budgetBytes: config.limits.bodyBudgetBytes, idleMs: config.limits.bodyIdleMs, released: () => collector.request() });
  const builder = createBuilder({
    engine,
    sandbox: createDockerSandbox({ docker, serverId: installation }),
    buildpacks,
    baseImages: config.baseImages,
    workDir: path.join(config.dataDir, 'builds'),
    repositoryBuild: {
      memoryBytes: config.limits.dockerBuildMemoryBytes,
      timeoutMs: config.limits.dockerBuildTimeoutMs,
      pids: await buildPidsLimit(docker, config.limits.dockerBuildPids, warn),
      maxCodeBytes: config.limits.maxCodeBytes,
    },
    serverId: installation,
  });
  // Schedules and the async queue run calls through dispatch: built before Deps, which tells them when their rows
  // change; armed and started after restore, stopped before the pool.
  const queueSettings = workerSettings(config);
  const platformLines = platformLog(functionLogs, log);
  const scheduler = createScheduler({ store, dispatch, metrics }, {
    log: platformLines,
    graceMs: config.schedules.graceMs,
    warmAheadMs: config.schedules.warmAheadMs,
    // The live version's spec, as its cold start would use it: the cell and the version's files are readied for it.
    // A function with an idle instance is warm already: its firing takes that instance, not a cell.
    warm(fn, until) {
      const spec = pool.spec(fn);
      const counts = pool.counts()[fn];
      if (spec && !(counts && counts.running > counts.busy)) cells?.reserve(spec, until);
    },
  });
  const workers = createQueueWorkers({ store, dispatch, pool, log }, { settings: queueSettings, log: platformLines });
  const controlSocket = path.join(config.dataDir, 'control.sock');
  const repos = createRepos(path.join(config.dataDir, 'repos'), path.join(config.projectRoot, 'hooks', 'pre-receive'), controlSocket, {
    maxPackBytes: config.limits.maxUploadBytes,
  });
  let actualPort = config.port;
  const portSuffix = () => (actualPort === 80 ? '' : `:${actualPort}`);
  const deps: Deps = {
    store,
    engine,
    pool,
    dispatch,
    builder,
    functionUrl: (name) => `http://${name}.${config.domain}${portSuffix()}`,
    limits: { maxMemoryBytes: config.limits.maxMemoryBytes, maxCodeBytes: config.limits.maxCodeBytes },
    log,
    logs: functionLogs,
    // What versions, rollback (rebuilds from a commit), image pruning and delete need.
    repos: createFunctionRepos(repos, config.limits.maxCodeBytes),
    keepImages: config.keepImages,
    // Schedules and queued calls go with the function's row (ON DELETE CASCADE): only the scheduler's timers are left.
    onDelete: [async (name) => scheduler.reload(name), async (name) => builder.forget?.(name)],
    background: { schedulesChanged: (fn) => scheduler.reload(fn), queued: (fn) => workers.notify(fn), queueMax: config.async.queueMax, keep: queueSettings.keep },
    metrics,
  };
  // Wrong keys are cheap to refuse and limited per client address (the REST API, git over HTTP and `auth: key` alike);
  // the seed is known from the start, so the usual key never costs a scrypt.
  const authLimiter = createAuthLimiter({
    failures: config.limits.authFailures,
    windowMs: config.limits.authFailureWindowMs,
    slowBudget: config.limits.authSlowChecks,
  });
  const seed = config.apiKey && seedId ? { key: config.apiKey, id: seedId } : undefined;
  const storedKeys = createKeyVerifier(store, undefined, { limiter: authLimiter, seed });
  // SSH commands run the CLI in-process against this API with a key of their own, issued per command (server/ssh/loopback.ts).
  const loopback = createLoopbackCredentials();
  const checkKey = async (key: string | undefined, client?: string) => loopback.verify(key) || (await storedKeys(key, client));
  verifyMetricsKey = (req) => checkKey(bearerToken(req.headers.authorization), clientOf(req.socket.remoteAddress));
  await repos.refreshHooks();
  const control = await startControlServer(controlSocket, deps, repos);

  const report = await restore(deps);
  if (report.adopted + report.removed + report.registered > 0) {
    log(stepLine(`Restored ${report.registered + report.adopted} live functions (${report.adopted} instances adopted, ${report.removed} stale containers removed)`));
  }
  for (const fn of store.functions.list()) syncSchedules(deps, fn.name);
  scheduler.start();
  workers.start();

  const functionExists = (name: string) => pool.spec(name) !== undefined || store.functions.get(name) !== undefined;
  // `auth:` of the version the pool serves, so a deploy or rollback that changes it takes effect with the switch; a
  // function the pool has not taken up (no live version yet, or one an async call would queue for) is read from SQLite.
  const authOf = (name: string) => {
    const spec = pool.spec(name);
    if (spec) return spec.auth ?? 'none';
    const live = store.versions.live(name);
    return live ? ((JSON.parse(live.manifest) as Partial<Manifest>).auth ?? 'none') : undefined;
  };
  // Invoke-only tokens open `auth: key` functions (theirs, if made for one) and nothing else.
  const guard = createFunctionGuard(authOf, async (key, client, name) => loopback.verify(key) || (await storedKeys.invoke(key, client, name)));
  const server = createHttpServer({
    domain: config.domain,
    forward: createForwarder(dispatch, functionExists, readBody, undefined, (name, request) => enqueueInvocation(deps, { name, request }), guard, config.limits.sendTimeoutMs),
    bytePath: config.bytePath ? { dispatch, exists: functionExists, guard } : undefined,
    api: loopback.wrap(createApi({
      deps,
      repos,
      verifyKey: checkKey,
      identifyKey: async (key) => loopback.identify(key) ?? (await storedKeys.identify(key)),
      workDir: path.join(config.dataDir, 'builds'),
      readBody,
      limits: { upload: { maxBytes: config.limits.maxUploadBytes, maxExpandedBytes: config.limits.maxCodeBytes, idleMs: config.limits.bodyIdleMs } },
      metrics: { retentionMs: config.metrics.retentionMs, pending: () => recorder.pending() },
    })),
    git: createGitHttp(repos, storedKeys, (name) => store.functions.get(name) !== undefined),
    metrics: recorder.endpoint,
    // Built by `npm run build` (scripts/build-dashboard.mjs); the page calls the API above with the user's API token.
    dashboard: createDashboard({ dir: path.join(config.projectRoot, 'dist', 'dashboard') }),
    headersTimeoutMs: config.limits.headersTimeoutMs,
    requestTimeoutMs: config.limits.requestTimeoutMs,
    sendTimeoutMs: config.limits.sendTimeoutMs,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`the port ${config.host}:${config.port} is in use (another server?): set LAMBDA_PORT to a free one`) : error),
    );
    server.listen(config.port, config.host, () => resolve());
  });
  actualPort = (server.address() as { port: number }).port;
  held = {
    bodyBytes: () => readBody.inFlight(),
    connections: () => new Promise((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count))),
  };

  const hostKey = loadHostKey(path.join(config.dataDir, 'ssh_host_ed25519_key'));
  const loopbackHost = config.host === '0.0.0.0' || config.host === '' ? '127.0.0.1' : config.host === '::' ? '[::1]' : config.host.includes(':') ? `[${config.host}]` : config.host;
  const ssh = await startSshServer({
    host: config.sshHost,
    port: config.sshPort,
    hostKey: hostKey.privateKey,
    lookupKey: createSshKeyLookup(deps),
    runCli,
    apiUrl: () => `http://${loopbackHost}:${actualPort}`,
    credentials: loopback,
    git: { repos, isFunction: (name) => store.functions.get(name) !== undefined },
    log,
    limits: {
      maxUnauthenticated: config.limits.sshMaxUnauthenticated,
      maxUnauthenticatedPerAddress: config.limits.sshMaxUnauthenticatedPerAddress,
      loginTimeoutMs: config.limits.sshLoginTimeoutMs,
    },
  });
  log(sshListenLine({ host: config.sshHost, port: ssh.port, fingerprint: hostKey.fingerprint }));

  return {
    url: `http://${config.domain}${portSuffix()}`,
    port: actualPort,
    sshPort: ssh.port,
    generatedKey: generated,
    async close() {
      // Starts waiting for a turn to boot fail at once, so requests waiting on them end and the stop does not wait
      // for a queue of boots; those booting are abandoned.
      engine.closeBoots?.();
      functionLogs.stopFollowing();
      await ssh.close();
      await Promise.all([scheduler.stop(), workers.stop()]);
      await closeServer(server);
      await closeServer(control);
      await pool.shutdown();
      await cells?.shutdown();
      instanceLogs.closeAll();
      functionLogs.close();
      // The rows of the minutes under way: a clean stop loses none.
      recorder.close();
      collector.stop();
      store.close();
      await unlockDataDir();
    },
  };
}

/** A random id kept in the data directory: it labels this installation's containers. */
function serverId(dataDir: string): string {
  const file = path.join(dataDir, 'server-id');
  if (!fs.existsSync(file)) fs.writeFileSync(file, randomBytes(8).toString('hex'), { flag: 'wx' });
  return fs.readFileSync(file, 'utf8').trim();
}

/** Stops accepting, lets requests in flight finish (at most `graceMs`), and closes keep-alive connections as they go idle. */
function closeServer(server: http.Server, graceMs = 15 * 60_000): Promise<void> {
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

async function main(): Promise<void> {
  const config = loadConfig();
  // One line per event, with the time, for the operator's terminal (journald shows the same under systemd).
  const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
  const server = await startServer(config, log);
  log(httpListenLine({ host: config.host, port: server.port, url: server.url, dataDir: config.dataDir }));
  log(dashboardLine(`http://${DASHBOARD_LABEL}.${config.domain}:${server.port}/dashboard`));
  // The generated key goes out without a time stamp, so it can be copied whole from the terminal.
  for (const line of adminTokenLines({ generatedKey: server.generatedKey, seeded: Boolean(config.apiKey) })) console.log(line);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(stepLine(`${signal}: stopping instances and closing`));
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(warnLine(String(error)));
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] && path.resolve(process.argv[1]).replace(/\.[jt]s$/, '') === path.resolve(new URL(import.meta.url).pathname).replace(/\.[jt]s$/, '')) {
  main().catch((error: unknown) => {
    console.error(warnLine(error instanceof Error ? error.message : String(error)));
    process.exit(1);
  });
}
