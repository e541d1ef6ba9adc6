// End to end: the README's Quickstart word for word in a fresh copy of the checkout, with every default
// (data in ./data inside the checkout, port 8080, the key `npm start` prints, the README's own /tmp/greet), its
// second terminal run twice in a row as a newcomer re-running it would, then a stop the way a terminal or systemd
// stops it: SIGTERM to the whole process group of `npm start`.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { ROOT, command, requireDocker } from '../helpers/lambda.js';

const run = promisify(execFile);
const PORT = 8080;
/** The README's own folder for the function: a second run must find it left by the first. */
const GREET = '/tmp/greet';

let clone: string;
let server: ChildProcess | undefined;
let output = '';
let greetWasThere = false;

/** The checkout as a fresh clone of it would be: tracked and new files, nothing ignored (no data/, no dist/). */
function freshCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-quickstart-'));
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const files = listed.split('\0').filter(Boolean);
  for (const file of files) {
    if (!fs.existsSync(path.join(ROOT, file))) continue; // deleted but not yet committed
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
    const stat = fs.statSync(path.join(ROOT, file));
    fs.chmodSync(path.join(dir, file), stat.mode);
    // Same times as the checkout, so `npm start` sees node_modules as up to date with package-lock.json.
    fs.utimesSync(path.join(dir, file), stat.atime, stat.mtime);
  }
  // Installing the same lockfile again would only cost minutes; the rest of `npm start` runs as a newcomer's does.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  // A checkout made after its packages were installed (a git worktree sharing them) has a lockfile newer than the
  // install: `npm ci` would then run through the link and empty the packages every other checkout uses.
  const installed = fs.statSync(path.join(ROOT, 'node_modules', '.package-lock.json'));
  const lock = path.join(dir, 'package-lock.json');
  if (fs.statSync(lock).mtimeMs > installed.mtimeMs) fs.utimesSync(lock, installed.atime, installed.mtime);
  return dir;
}

/** The README's Quickstart: its two shell blocks, terminal 1's (npm start) and terminal 2's. */
function readmeQuickstart(): { terminal1: string; terminal2: string } {
  const readme = fs.readFileSync(path.join(clone, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Quickstart\n')) ?? '';
  const blocks = [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1] as string);
  if (blocks.length !== 2) throw new Error(`the Quickstart should hold two sh blocks, not ${blocks.length}`);
  return { terminal1: blocks[0] as string, terminal2: blocks[1] as string };
}

/** Runs `script` as `bash -e` does a pasted block that must not go on after a failure; `stdin` is what is typed. */
function bash(script: string, options: { cwd: string; env: NodeJS.ProcessEnv; stdin: string }): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.stdin);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '0.0.0.0', () => probe.close(() => resolve(true)));
  });
}

/** Session id of a process (field 6 of /proc/<pid>/stat). */
function sessionOf(pid: number | 'self'): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

/** Waits until no process of the group is left (as systemd waits for a unit's cgroup to empty). */
async function groupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

test.before(async () => {
  await requireDocker();
  if (!(await portFree(PORT))) throw new Error(`port ${PORT} is busy: the Quickstart test runs with the default port; stop what listens there`);
  clone = freshCopy();
  greetWasThere = fs.existsSync(GREET);
});

test.after.always(async () => {
  if (server && server.exitCode === null && server.pid) {
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (clone) {
    const id = path.join(clone, 'data', 'server-id');
    if (fs.existsSync(id)) {
      const { stdout } = await run('docker', ['ps', '-aq', '--filter', `label=lambda.server=${fs.readFileSync(id, 'utf8').trim()}`]).catch(() => ({ stdout: '' }));
      const ids = stdout.split('\n').filter(Boolean);
      if (ids.length > 0) await run('docker', ['rm', '-f', ...ids]).catch(() => {});
    }
    fs.rmSync(clone, { recursive: true, force: true });
  }
  if (!greetWasThere) fs.rmSync(GREET, { recursive: true, force: true });
});

test.serial("the README's Quickstart works as written, twice in a row, and stopping npm start leaves the engine running and no container behind", async (t) => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('LAMBDA_')) delete env[key];

  // Terminal 1: npm start (foreground, in its own process group as a terminal's job is).
  t.regex(readmeQuickstart().terminal1, /^npm start\s/);
  server = spawn('npm', ['start'], { cwd: clone, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const started = server;
  const key = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not print a key within 120 s:\n${output}`)), 120_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Admin API key[^\n]*\n\s+(lambda_\S+)/.exec(output);
      if (match && output.includes('listening on')) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    started.stdout?.on('data', onData);
    started.stderr?.on('data', onData);
    started.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  t.true(fs.existsSync(path.join(clone, 'data', 'lambda.db')), 'the data directory is ./data inside the checkout');

  // Terminal 2: the Quickstart's second block, word for word, in one bash as a terminal runs it, from the checkout,
  // twice: a newcomer runs it again, and the second run must find what the first left (/tmp/greet, its repository,
  // the function on the server) and still deploy. The key npm start printed is what `lambda login` reads (pasted at
  // its prompt). The home is one of its own, as a fresh machine's: no git identity, and `lambda login` and
  // `lambda setup-git` never touch this machine's ~/.gitconfig.
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'quickstart-home-'));
  try {
    const script = readmeQuickstart().terminal2;
    t.true(script.includes(GREET), script);
    const shellEnv: NodeJS.ProcessEnv = { ...env, HOME: home, GIT_TERMINAL_PROMPT: '0' };
    for (const key of Object.keys(shellEnv)) {
      if (key.startsWith('GIT_CONFIG') || key.startsWith('GIT_AUTHOR_') || key.startsWith('GIT_COMMITTER_') || key === 'EMAIL' || key === 'XDG_CONFIG_HOME') delete shellEnv[key];
    }
    for (const round of [1, 2]) {
      const terminal = await bash(script, { cwd: clone, env: shellEnv, stdin: `${key}\n` });
      const said = `run ${round}:\n${terminal.stdout}\n${terminal.stderr}`;
      t.is(terminal.code, 0, said);
      t.regex(terminal.stdout, /^Logged in to http:\/\/localhost:8080\n/, said);
      t.regex(terminal.stderr, new RegExp(`remote: -----> Starting greet v${round} `), said);
      t.regex(terminal.stderr, /remote: -----> Live at http:\/\/greet\.localhost:8080/, said);
      // Both curls, then `lambda invoke`.
      t.regex(terminal.stdout, /\{"message":"Hello, World!"\}\{"message":"Hello, World!"\}\{"message":"Hello, World!"\}\n/, said);
      t.regex(terminal.stdout, new RegExp(`greet\\s+v${round}\\b`), said);
      t.regex(terminal.stdout, /live at: http:\/\/greet-cli\.localhost:8080/, said);
      t.false(fs.existsSync(path.join(GREET, 'greet')), 'the example is copied into /tmp/greet, not beside it');
    }
    // The key is in the CLI's private config only: not in the function's repository, nor in git's config.
    t.is(fs.statSync(path.join(home, '.config', 'lambda', 'config.json')).mode & 0o777, 0o600);
    t.false(fs.readFileSync(path.join(GREET, '.git', 'config'), 'utf8').includes(key));
    t.false(fs.readFileSync(path.join(home, '.gitconfig'), 'utf8').includes(key));
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }

  // Stop as a terminal (Ctrl-C) or systemd does: a signal to the whole process group.
  const serverId = fs.readFileSync(path.join(clone, 'data', 'server-id'), 'utf8').trim();
  t.true((await run('docker', ['ps', '-q', '--filter', `label=lambda.server=${serverId}`])).stdout.trim().length > 0, 'an instance ran');
  process.kill(-(started.pid as number), 'SIGTERM');
  t.true(await groupGone(started.pid as number, 30_000), `npm start's processes ended within 30 s:\n${output}`);

  const info = await command('docker', ['info', '--format', '{{.ServerVersion}}']);
  t.is(info.code, 0, 'the Docker engine still answers');
  const left = await run('docker', ['ps', '-aq', '--filter', `label=lambda.server=${serverId}`]);
  t.is(left.stdout.trim(), '', 'no container of this installation is left');
  t.notRegex(output, /ENOENT \/var\/run\/docker\.sock|could not stop instance/);
});

test('the Docker engine runs in a session of its own, so a signal to our process group never reaches it', async (t) => {
  const { stdout } = await run('pidof', ['dockerd']).catch(() => ({ stdout: '' }));
  const pids = stdout.trim().split(/\s+/).filter(Boolean).map(Number);
  t.true(pids.length > 0, 'dockerd runs on this machine');
  for (const pid of pids) t.not(sessionOf(pid), sessionOf('self'));
});
