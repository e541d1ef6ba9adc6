// End-to-end harness: runs the real server as a child process on a random port with its own data dir,
// pushes fixture functions with real git, and removes every container it made.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');

/** Fails loudly when no engine answers: end-to-end tests never pass by doing nothing. */
export async function requireDocker(): Promise<void> {
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}']);
  } catch {
    throw new Error('No Docker engine answers. Run scripts/ensure-docker.sh, or set LAMBDA_SKIP_DOCKER=1 to leave out the tests that need it.');
  }
}

export interface Lambda {
  port: number;
  /** The SSH server's port (LAMBDA_SSH_PORT=0 picks a free one; kept across restarts). */
  sshPort: number;
  /** The server process's pid (for memory readings). */
  pid: number;
  key: string;
  dataDir: string;
  base: string;
  output(): string;
  /** Stops the server with `signal` and starts it again on the same port and data. */
  restart(signal: NodeJS.Signals): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Removes the server's containers and data. */
  destroy(): Promise<void>;
  serverId(): string;
  /** Containers serving functions (`fn`: that one's), whether booted for it or specialised from a cell. */
  containers(fn?: string): Promise<string[]>;
  /** Every container of this installation, waiting cells included. */
  allContainers(): Promise<string[]>;
  fetch(pathname: string, init?: RequestInit & { host?: string }): Promise<Response>;
  api(pathname: string, init?: RequestInit): Promise<Response>;
  push(name: string, dir: string, options?: { key?: string; files?: Record<string, string> }): Promise<PushResult>;
  cli(args: string[], options?: { env?: Record<string, string> }): Promise<CommandResult>;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PushResult extends CommandResult {
  sha: string;
}

/** `env` adds server settings (e.g. shorter limits) to the defaults. */
export async function startLambda(env: Record<string, string> = {}): Promise<Lambda> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-e2e-'));
  const key = `test_${randomBytes(16).toString('hex')}`;
  let child: ChildProcess | undefined;
  let log = '';
  let port = 0;
  let sshPort = 0;

  const launch = async () => {
    log = '';
    // LAMBDA_SERVER_NODE_ARGS lets a benchmark profile the server (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
    const nodeArgs = (process.env.LAMBDA_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    // LAMBDA_SERVER_ENTRY=dist/server/main.js runs the compiled server (the benchmark measures what npm start runs).
    const entry = process.env.LAMBDA_SERVER_ENTRY ? [path.resolve(ROOT, process.env.LAMBDA_SERVER_ENTRY)] : ['--import', 'tsx', path.join(ROOT, 'server', 'main.ts')];
    // The compiled server runs with the memory settings npm start gives it (config/server-memory.env).
    const memory = process.env.LAMBDA_SERVER_ENTRY ? serverMemorySettings() : {};
    const memoryFlags = (memory.LAMBDA_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    child = spawn(process.execPath, [...memoryFlags, ...nodeArgs, ...entry], {
      cwd: ROOT,
      env: { ...memory, ...process.env, LAMBDA_DATA_DIR: path.join(dataDir, 'data'), LAMBDA_PORT: String(port), LAMBDA_HOST: '127.0.0.1', LAMBDA_SSH_PORT: String(sshPort), LAMBDA_API_KEY: key, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = child;
    port = await new Promise<number>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        const match = /\(port (\d+),/.exec(log);
        const ssh = /SSH listening on .*, port (\d+)/.exec(log);
        if (ssh) sshPort = Number(ssh[1]);
        if (match) resolve(Number(match[1]));
      };
      started.stdout?.on('data', onData);
      started.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
      started.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
    });
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await exited;
  };

  await launch();
  const lambda: Lambda = {
    get port() {
      return port;
    },
    get sshPort() {
      return sshPort;
    },
    get pid() {
      return child?.pid ?? 0;
    },
    key,
    dataDir,
    get base() {
      return `http://127.0.0.1:${port}`;
    },
    output: () => log,
    async restart(signal) {
      await stop(signal);
      await launch();
    },
    stop,
    serverId: () => fs.readFileSync(path.join(dataDir, 'data', 'server-id'), 'utf8').trim(),
    async containers(fn) {
      // Function instances: containers labelled with their function, and pre-started cells that became one (their
      // labels cannot change, so the server records what each serves beside its task folder). Waiting cells are not.
      const format = '{{.ID}} {{.Label "lambda.function"}} {{.Label "lambda.instance"}} {{.Label "lambda.cell"}}';
      const { stdout } = await run('docker', ['ps', '-a', '--filter', `label=lambda.server=${lambda.serverId()}`, '--format', format]);
      const ids: string[] = [];
      for (const line of stdout.split('\n').filter(Boolean)) {
        const [id, labelled, instance, cell] = line.split(' ');
        let serves = labelled;
        if (!serves && cell && cell !== 'files') {
          const record = path.join(dataDir, 'data', 'cells', 'tasks', `${instance}.json`);
          // The server writes a record whole (through a rename); one that will not parse serves nothing we can name.
          try {
            serves = fs.existsSync(record) ? (JSON.parse(fs.readFileSync(record, 'utf8')) as { fn: string }).fn : '';
          } catch {
            serves = '';
          }
        }
        if (serves && (!fn || serves === fn)) ids.push(id);
      }
      return ids;
    },
    async allContainers() {
      const { stdout } = await run('docker', ['ps', '-aq', '--filter', `label=lambda.server=${lambda.serverId()}`]);
      return stdout.split('\n').filter(Boolean);
    },
    async destroy() {
      await stop('SIGKILL');
      // Twice: a container the killed server was creating may appear in the engine only just after the first pass.
      for (const pause of [0, 500]) {
        await new Promise((resolve) => setTimeout(resolve, pause));
        const ids = await lambda.allContainers().catch(() => []);
        if (ids.length > 0) await run('docker', ['rm', '-f', '-v', ...ids]).catch(() => {});
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
    fetch(pathname, init = {}) {
      const headers = new Headers(init.headers);
      if (init.host) headers.set('x-test-host', init.host);
      return init.host ? fetchWithHost(`${lambda.base}${pathname}`, init.host, init) : fetch(`${lambda.base}${pathname}`, init);
    },
    api(pathname, init = {}) {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${key}`);
      return fetch(`${lambda.base}${pathname}`, { ...init, headers });
    },
    async push(name, dir, options = {}) {
      const work = fs.mkdtempSync(path.join(dataDir, 'push-'));
      fs.cpSync(dir, work, { recursive: true });
      for (const [file, text] of Object.entries(options.files ?? {})) fs.writeFileSync(path.join(work, file), text);
      const git = (args: string[]) => command('git', args, { cwd: work });
      await git(['init', '-q', '-b', 'main']);
      await git(['add', '-A']);
      await git(['-c', 'user.name=test', '-c', 'user.email=test@lambda.local', 'commit', '-qm', 'deploy']);
      const sha = (await git(['rev-parse', 'HEAD'])).stdout.trim();
      const remote = `http://lambda:${options.key ?? key}@127.0.0.1:${port}/git/${name}.git`;
      const result = await git(['push', remote, 'main', '--force']);
      fs.rmSync(work, { recursive: true, force: true });
      return { ...result, sha };
    },
    cli(args, options = {}) {
      return command(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli', 'main.ts'), ...args], {
        cwd: ROOT,
        env: { LAMBDA_URL: lambda.base, LAMBDA_API_KEY: key, LAMBDA_CONFIG: path.join(dataDir, 'cli.json'), ...options.env },
      });
    },
  };
  return lambda;
}

/** config/server-memory.env as scripts/start.sh reads it: NAME=value lines, # comments. */
function serverMemorySettings(): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const line of fs.readFileSync(path.join(ROOT, 'config', 'server-memory.env'), 'utf8').split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) settings[match[1] as string] = match[2] as string;
  }
  return settings;
}

/** fetch() cannot set Host, so requests that route by Host go through node:http. */
async function fetchWithHost(url: string, host: string, init: RequestInit): Promise<Response> {
  const http = await import('node:http');
  const target = new URL(url);
  const body = init.body === undefined || init.body === null ? undefined : Buffer.from(init.body as string | Uint8Array);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: init.method ?? 'GET', headers: { ...Object.fromEntries(new Headers(init.headers)), host } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            for (const one of ([] as string[]).concat(value ?? [])) headers.append(name, one);
          }
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode, headers }));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function command(file: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CommandResult> {
  const child = spawn(file, args, { cwd: options.cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? 1)));
  return { code, stdout, stderr };
}

export const fixture = (name: string) => path.join(FIXTURES, name);
export const example = (name: string) => path.join(ROOT, 'examples', name);
