// Test harness: a swarm of Docker engines on this machine, each in a network namespace of its own joined by a
// bridge in another, and a teardown that leaves nothing of it (engines, namespaces, links, mounts, folders).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { ROOT, requireDocker, startLambda, type Lambda } from './lambda.js';
import { REGISTRY_PROGRAM, registryFiles, serveArgs, writeRegistryConfigs } from '../../server/engine/swarm/registry.js';

const run = promisify(execFile);

/** The nodes' own network: it exists only inside this run's namespaces, so every run may use the same one. */
const SUBNET = '172.31.250';
/** How long an engine may take to answer after it is started (it sets up its containerd and swarm state). */
const ENGINE_START_MS = 60_000;
/** How long a stopped engine may take to stop its containers and unmount before it is killed. */
const ENGINE_STOP_MS = 20_000;

export interface SwarmNode {
  index: number;
  /** The network namespace (in /run/netns) the engine and its swarm traffic live in. */
  netns: string;
  /** The node's address on the bridge, which swarm advertises. */
  address: string;
  /** The engine's socket, as `docker -H` takes it. */
  host: string;
  dir: string;
  pid: number;
}

export interface Swarm {
  id: string;
  /** The run's folder: every engine's data and exec root, and what tests keep beside them. */
  dir: string;
  nodes: SwarmNode[];
  manager: SwarmNode;
  /** Runs the docker CLI against one node's engine; rejects with its stderr on a non-zero exit. */
  docker(node: SwarmNode, args: string[], options?: { input?: Buffer | string; timeoutMs?: number }): Promise<string>;
  /** Starts a program inside a node's network namespace; stopped at teardown, found by the run's folder, which its
   * arguments must name (a configuration file or a log in it). */
  spawnIn(node: SwarmNode, command: string, args: string[], logName: string): number;
  /** Stops everything and removes every trace; safe to call twice. */
  destroy(): void;
}

export interface SwarmOptions {
  /** Engines in the swarm, the first the manager (2 or more). */
  nodes?: number;
  /** Registries the engines pull from over plain HTTP (`--insecure-registry`). */
  insecureRegistries?: string[];
}

/** The address of node `index` on the run's bridge. */
export function nodeAddress(index: number): string {
  return `${SUBNET}.${index + 1}`;
}

/** Namespaces, engines and mounts need root: a test run by another user (CI's runner) gets them through `sudo -n`. */
const AS_ROOT = process.getuid?.() === 0 ? [] : ['sudo', '-n'];

/** `command args` as root: the program to run and its arguments. */
export function privileged(command: string, args: string[]): [string, string[]] {
  return AS_ROOT.length === 0 ? [command, args] : [AS_ROOT[0], [...AS_ROOT.slice(1), command, ...args]];
}

function sh(command: string, args: string[]): string {
  return execFileSync(...privileged(command, args), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
}

/** Like sh, for teardown: what is already gone is not an error. */
function tryToRun(command: string, args: string[]): void {
  try {
    sh(command, args);
  } catch {
    // already removed, or never made: teardown goes on with the rest
  }
}

/** Whether `pid` still runs: an engine this process started stays a zombie until Node reaps it, which a
 * synchronous teardown never lets it do, so a zombie counts as gone. */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  if (AS_ROOT.length > 0) return tryToRun('kill', [`-${name}`, String(pid)]);
  try {
    process.kill(pid, name);
  } catch {
    // it ended between the check and the signal
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Stops `pid` with SIGTERM, then SIGKILL after `graceMs`; returns once it is gone (or after the kill's grace). */
function stopProcess(pid: number, graceMs: number): void {
  if (!alive(pid)) return;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) sleepSync(100);
  if (!alive(pid)) return;
  signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5_000;
  while (alive(pid) && Date.now() < killDeadline) sleepSync(50);
}

/** Processes whose command line names the run's folder: only this run's engines, containerds and shims do. */
export function processesOf(dir: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid || !alive(Number(entry))) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** Mount points inside the run's folder, the deepest first (an engine killed mid-way leaves layers and netns mounts). */
export function mountsOf(dir: string): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** The network namespaces this run made that still exist. */
export function namespacesOf(id: string): string[] {
  const all = fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns') : [];
  return all.filter((name) => name.startsWith(`lsw-${id}-`));
}

/** A run's folder: `lsw-<id>-<random>` in the temporary folder, with its owner's pid in `owner`. */
const RUN_DIR = /^lsw-([0-9a-f]{6})-/;

/**
 * Removes what a run left behind: its processes (found by the run's folder: its engines, their containerds and
 * shims, its registry) stopped together by pid, then its mounts, its namespaces (and the veths and bridge in them)
 * and its folder.
 */
function removeRun(dir: string, id: string): void {
  // The engines first, on their own: each stops its containers and unmounts its layers and namespaces on SIGTERM,
  // which it can do only while its containerd still runs. Then whatever is left (containerds, shims, the registry).
  const isEngine = (pid: number): boolean => {
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dockerd';
    } catch {
      return false;
    }
  };
  for (const [which, graceMs] of [[isEngine, ENGINE_STOP_MS], [() => true, 2_000]] as const) {
    const pids = processesOf(dir).filter(which);
    for (const pid of pids) signal(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (pids.some(alive) && Date.now() < deadline) sleepSync(100);
    for (const pid of pids.filter(alive)) stopProcess(pid, 0);
  }
  for (const point of mountsOf(dir)) tryToRun('umount', ['-l', point]);
  for (const ns of namespacesOf(id)) tryToRun('ip', ['netns', 'del', ns]);
  // The engines' files are root's: another user removes them as root.
  if (AS_ROOT.length > 0) tryToRun('rm', ['-rf', '--one-file-system', dir]);
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Removes the runs whose test process is gone without its teardown (killed outright, where no exit hook runs).
 * A run whose owner still lives is another test file's, at work: left alone.
 */
export function removeAbandonedRuns(): string[] {
  const removed: string[] = [];
  for (const name of fs.readdirSync(os.tmpdir())) {
    const match = RUN_DIR.exec(name);
    if (!match) continue;
    const dir = path.join(os.tmpdir(), name);
    let owner = 0;
    try {
      owner = Number(fs.readFileSync(path.join(dir, 'owner'), 'utf8'));
    } catch {
      // No owner written yet: a run being made this instant, unless the folder is older than any start takes.
      if (Date.now() - fs.statSync(dir).mtimeMs < ENGINE_START_MS) continue;
    }
    if (owner > 0 && alive(owner)) continue;
    removeRun(dir, match[1]);
    removed.push(dir);
  }
  return removed;
}

export async function createSwarm(options: SwarmOptions = {}): Promise<Swarm> {
  const count = options.nodes ?? 2;
  if (count < 2) throw new Error('a swarm here has at least two engines');
  removeAbandonedRuns();
  // Short names: interface and socket names are bounded (15 and 107 bytes), and two runs must never collide.
  const id = randomBytes(3).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lsw-${id}-`));
  fs.writeFileSync(path.join(dir, 'owner'), String(process.pid));
  const bridgeNs = `lsw-${id}-br`;
  const nodes: SwarmNode[] = [];
  let destroyed = false;

  const destroy = (): void => {
    if (destroyed) return;
    destroyed = true;
    process.removeListener('exit', destroy);
    removeRun(dir, id);
  };
  // A test process that ends without its teardown (a crash, a failed assertion before it) still cleans up.
  process.on('exit', destroy);

  const spawnIn = (node: SwarmNode, command: string, args: string[], logName: string): number => {
    const log = fs.openSync(path.join(dir, logName), 'a');
    // nsenter, not `ip netns exec`: the latter remounts /sys, which hides the cgroup mounts dockerd needs.
    const child = spawn(...privileged('nsenter', [`--net=/run/netns/${node.netns}`, command, ...args]), { detached: true, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    child.unref();
    if (!child.pid) throw new Error(`${command} did not start`);
    return child.pid;
  };

  const docker = async (node: SwarmNode, args: string[], opts: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<string> => {
    const child = execFile('docker', ['-H', node.host, ...args], { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 << 20, encoding: 'utf8' });
    const done = new Promise<string>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (chunk: string) => { stdout += chunk; });
      child.stderr?.on('data', (chunk: string) => { stderr += chunk; });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`docker ${args.join(' ')} (node ${node.index}): exit ${code}: ${stderr.trim()}`))));
    });
    // A command that fails before it reads its input closes the pipe: that failure is the one to report.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
    return done;
  };

  try {
    sh('ip', ['netns', 'add', bridgeNs]);
    sh('ip', ['-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge']);
    sh('ip', ['-n', bridgeNs, 'link', 'set', 'br0', 'up']);
    for (let index = 0; index < count; index++) {
      const netns = `lsw-${id}-n${index}`;
      const address = nodeAddress(index);
      sh('ip', ['netns', 'add', netns]);
      // The veth's bridge end is named inside the bridge's namespace only; its other end is the node's eth0.
      sh('ip', ['-n', bridgeNs, 'link', 'add', `v${index}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
      sh('ip', ['-n', bridgeNs, 'link', 'set', `v${index}`, 'master', 'br0', 'up']);
      sh('ip', ['-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      sh('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
      sh('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
      const nodeDir = path.join(dir, `n${index}`);
      fs.mkdirSync(nodeDir);
      // An empty configuration of its own: the host engine's /etc/docker/daemon.json (hosts, data root) is not ours.
      fs.writeFileSync(path.join(nodeDir, 'daemon.json'), '{}');
      nodes.push({ index, netns, address, host: `unix://${nodeDir}/docker.sock`, dir: nodeDir, pid: 0 });
    }
    for (const node of nodes) {
      node.pid = spawnIn(node, 'dockerd', [
        '--config-file', path.join(node.dir, 'daemon.json'),
        '--data-root', path.join(node.dir, 'data'),
        '--exec-root', path.join(node.dir, 'exec'),
        '--pidfile', path.join(node.dir, 'docker.pid'),
        '-H', node.host,
        '--bridge=none', '--iptables=false', '--ip-masq=false',
        '--shutdown-timeout', '2',
        // A service's container cannot be given no-new-privileges through the service API of this engine (20.10):
        // the engine sets it on every container it runs instead, as each node of a real swarm must.
        '--no-new-privileges',
        // Another user's docker CLI reaches the engine through its socket's group.
        ...(AS_ROOT.length > 0 ? ['--group', String(process.getgid?.())] : []),
        ...(options.insecureRegistries ?? []).flatMap((registry) => ['--insecure-registry', registry]),
      ], `n${node.index}/dockerd.log`);
    }
    for (const node of nodes) await waitForEngine(node, dir, docker);
    const [manager, ...workers] = nodes;
    await docker(manager, ['swarm', 'init', '--advertise-addr', manager.address, '--listen-addr', `${manager.address}:2377`]);
    const token = (await docker(manager, ['swarm', 'join-token', '-q', 'worker'])).trim();
    for (const worker of workers) {
      await docker(worker, ['swarm', 'join', '--token', token, '--advertise-addr', worker.address, '--listen-addr', `${worker.address}:2377`, `${manager.address}:2377`]);
    }
    await waitFor(async () => (await docker(manager, ['node', 'ls', '--format', '{{.Status}}'])).split('\n').filter((s) => s === 'Ready').length === count, 30_000, 'every node Ready');
    return {
      id, dir, nodes, manager, docker, destroy,
      spawnIn,
    };
  } catch (error) {
    const logs = nodes.map((node) => readTail(path.join(node.dir, 'dockerd.log'))).join('\n');
    destroy();
    throw new Error(`${(error as Error).message}\n${logs}`);
  }
}

function readTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '';
  }
}

/** Polls `check` until it is true, at most `ms`; says what it waited for when it gives up. */
export async function waitFor(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last}` : ''}`);
}

async function waitForEngine(node: SwarmNode, dir: string, docker: Swarm['docker']): Promise<void> {
  await waitFor(async () => {
    if (!alive(node.pid)) throw new Error(`dockerd of node ${node.index} exited: ${readTail(path.join(dir, `n${node.index}`, 'dockerd.log'))}`);
    await docker(node, ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 5_000 });
    return true;
  }, ENGINE_START_MS, `the engine of node ${node.index}`);
}

/**
 * A static Go program alone in an image FROM scratch, `lambda-test/<name>:<run id>`, imported into the given engines.
 * The engines have no images and nothing to pull from; a 5 MB binary built here loads in an instant where a saved
 * base image would take seconds per engine.
 */
export async function importGoImage(swarm: Swarm, source: string, name: string, nodes: SwarmNode[] = swarm.nodes): Promise<string> {
  const binary = path.join(swarm.dir, 'bin', name, name);
  if (!fs.existsSync(binary)) {
    await run('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', binary, source], {
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '' }, timeout: 120_000,
    });
  }
  const image = `lambda-test/${name}:${swarm.id}`;
  const tar = await run('tar', ['-C', path.dirname(binary), '-cf', '-', name], { encoding: 'buffer', maxBuffer: 64 << 20 });
  for (const node of nodes) {
    await swarm.docker(node, ['import', '--change', `ENTRYPOINT ["/${name}"]`, '-', image], { input: tar.stdout });
  }
  return image;
}

/** The probe (test/fixtures/swarm-probe): serves HTTP, fetches, dials TCP and TLS, from inside a task. */
export function importProbe(swarm: Swarm, nodes: SwarmNode[] = swarm.nodes): Promise<string> {
  return importGoImage(swarm, path.join(ROOT, 'test', 'fixtures', 'swarm-probe', 'main.go'), 'probe', nodes);
}

/** The containers of `service`'s running tasks on each node, as [node, container id] pairs. */
export async function tasksOf(swarm: Swarm, service: string): Promise<Array<[SwarmNode, string]>> {
  const found: Array<[SwarmNode, string]> = [];
  for (const node of swarm.nodes) {
    const ids = await swarm.docker(node, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`]);
    for (const id of ids.split('\n').filter(Boolean)) found.push([node, id]);
  }
  return found;
}

/** A container's address on one network. */
export async function addressOn(swarm: Swarm, node: SwarmNode, container: string, network: string): Promise<string> {
  const out = await swarm.docker(node, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container]);
  return out.trim();
}

/** Where the workers pull from: the registry's read-only side on the manager's swarm address. */
export const REGISTRY_PULL = `${nodeAddress(0)}:5000`;

/**
 * The forwarder's end inside the manager's namespace: a Unix socket (its path the first argument, in the run's folder)
 * whose connections it joins to the write side on that namespace's loopback (the port, the second).
 */
const FORWARDER = `
const net = require('node:net');
const fs = require('node:fs');
const [socket, port] = process.argv.slice(1);
net.createServer((client) => {
  const upstream = net.connect(Number(port), '127.0.0.1');
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}).listen(socket, () => fs.chmodSync(socket, 0o666));
`;

/**
 * A write-side address for one swarm, `127.0.0.1:<port>`, that names the same registry on the host and in the
 * manager's namespace: the manager's engine pushes to its own loopback there, and the server (on the host) deletes
 * through the host's loopback, where a listener of the test process passes each connection through a Unix socket to
 * a forwarder inside the namespace. The port is a free one of the host's, so two test files' swarms never clash.
 */
export async function forwardWriteSide(swarm: Swarm): Promise<string> {
  const socket = path.join(swarm.dir, 'registry-forward.sock');
  const listener = net.createServer((client) => {
    const upstream = net.connect(socket);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => listener.once('error', reject).listen(0, '127.0.0.1', resolve));
  // The test process may end with it open: the swarm's teardown stops the other end.
  listener.unref();
  const port = (listener.address() as net.AddressInfo).port;
  const pid = swarm.spawnIn(swarm.manager, process.execPath, ['-e', FORWARDER, socket, String(port)], 'registry-forward.log');
  await waitFor(async () => {
    if (!alive(pid)) throw new Error(`the forwarder exited: ${readTail(path.join(swarm.dir, 'registry-forward.log'))}`);
    return fs.existsSync(socket);
  }, 20_000, "the write side's forwarder");
  return `127.0.0.1:${port}`;
}

export interface SwarmRegistry {
  /** The write side, as both the manager's engine and the host reach it (`forwardWriteSide`). */
  push: string;
  /** The registry's folder: its storage and both sides' configuration files. */
  storageDir: string;
  writeConfig: string;
  readConfig: string;
  writePid: number;
  /** Stops the write side; the read side goes on serving. */
  stopWriteSide(): void;
  startWriteSide(): Promise<void>;
}

/**
 * Runs the platform's registry on the manager as its operator would: both sides from the configuration files in the
 * registry's folder (written here, or already written by a server with `written`), plain HTTP (inside the run's
 * namespaces only; the engines are started with `--insecure-registry`).
 */
export async function startRegistry(swarm: Swarm, options: { push?: string; written?: boolean } = {}): Promise<SwarmRegistry> {
  const storageDir = path.join(swarm.dir, 'registry');
  const push = options.push ?? (await forwardWriteSide(swarm));
  const files = options.written ? registryFiles(storageDir) : writeRegistryConfigs(storageDir, { push, pull: REGISTRY_PULL });
  const start = async (config: string, log: string): Promise<number> => {
    const pid = swarm.spawnIn(swarm.manager, REGISTRY_PROGRAM, serveArgs(config), log);
    const file = path.join(swarm.dir, log);
    await waitFor(async () => {
      if (!alive(pid)) throw new Error(`the registry exited: ${readTail(file)}`);
      return readTail(file).includes('listening on');
    }, 20_000, `the registry (${log})`);
    return pid;
  };
  const registry: SwarmRegistry = {
    push, storageDir, writeConfig: files.write, readConfig: files.read,
    writePid: await start(files.write, 'registry-write.log'),
    stopWriteSide: () => stopProcess(registry.writePid, 5_000),
    startWriteSide: async () => {
      fs.writeFileSync(path.join(swarm.dir, 'registry-write.log'), '');
      registry.writePid = await start(files.write, 'registry-write.log');
    },
  };
  await start(files.read, 'registry-read.log');
  return registry;
}

/**
 * A swarm of two engines with its registry, and a Lambda server in swarm mode on its manager, `env` added to or
 * overriding its settings. Without cells unless `env` asks for them (LAMBDA_CELLS): the files written before cells
 * count every service of a function as an instance (instancesOf), and a waiting cell is one too. The server writes the registry's configuration at its start; the registry's
 * sides are then started from those files. `destroy` stops the server, then removes the swarm.
 */
export async function startSwarmLambda(env: Record<string, string> = {}): Promise<{ swarm: Swarm; lambda: Lambda; registry: SwarmRegistry; destroy(): Promise<void> }> {
  await requireDocker();
  const swarm = await createSwarm({ nodes: 2, insecureRegistries: [REGISTRY_PULL] });
  let lambda: Lambda | undefined;
  const destroy = async () => {
    await lambda?.stop().catch(() => undefined);
    await lambda?.destroy().catch(() => undefined);
    swarm.destroy();
  };
  try {
    const push = await forwardWriteSide(swarm);
    lambda = await startLambda({ ...(await swarmServerEnv(swarm, push)), LAMBDA_CELLS: '0', ...env });
    const registry = await startRegistry(swarm, { push, written: true });
    return { swarm, lambda, registry, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}

/**
 * The settings of a server in swarm mode on `swarm`'s manager, its registry's write side at `push`. The engines share
 * this machine's file system: each node's socket, for the job that prunes its images, is named by its id (made once).
 */
export async function swarmServerEnv(swarm: Swarm, push: string): Promise<Record<string, string>> {
  const sockets = path.join(swarm.dir, 'sockets');
  if (!fs.existsSync(sockets)) {
    fs.mkdirSync(sockets);
    for (const node of swarm.nodes) {
      const id = (await swarm.docker(node, ['info', '--format', '{{.Swarm.NodeID}}'])).trim();
      fs.symlinkSync(node.host.slice('unix://'.length), path.join(sockets, `${id}.sock`));
    }
  }
  return {
    DOCKER_HOST: swarm.manager.host, LAMBDA_ENGINE: 'swarm', LAMBDA_SWARM_REGISTRY_PULL: REGISTRY_PULL, LAMBDA_SWARM_REGISTRY_PUSH: push,
    LAMBDA_SWARM_REGISTRY_DIR: path.join(swarm.dir, 'registry'), LAMBDA_SWARM_NODE_SOCKET: path.join(sockets, '{{.Node.ID}}.sock'),
  };
}

/** The services of `fn`'s instances, by name. */
export async function instancesOf(swarm: Swarm, fn: string): Promise<string[]> {
  const out = await swarm.docker(swarm.manager, ['service', 'ls', '--filter', `label=lambda.function=${fn}`, '--filter', 'label=lambda.managed=true', '--format', '{{.Name}}']);
  return out.split('\n').filter(Boolean);
}
