// The deploy against this machine as its VM: Debian's sshd on a loopback port (its own config, host key and keys in a
// temporary folder; the deploy key's line as scripts/install-vm.sh writes it, forced to the receiver), scripts/ship.sh
// sending a pack built once, scripts/deploy.sh installing it under a temporary prefix, and a stand-in for the systemd
// service; a good build goes live, a broken one, one that answers and then crashes and one whose restart fails are
// switched back, and the key runs nothing but a deploy.
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import test from 'ava';
import { command, requireDocker, ROOT, type CommandResult } from '../helpers/lambda.js';

const SSHD = '/usr/sbin/sshd';
/** Left out of the copy CI's checkout stands for: what npm ci, a build or a server make. */
const NOT_CHECKED_OUT = new Set(['node_modules', 'dist', 'data', '.git']);
const KEY = 'deploy-test-key-0123456789abcdef';
const GOOD_A = 'a'.repeat(40);
const GOOD_B = 'b'.repeat(40);
const BROKEN = 'c'.repeat(40);
const CRASHING = 'e'.repeat(40);
const UNRESTARTED = 'f'.repeat(40);
/** The seconds a build must keep answering after its first 200: short here, the default is 10. */
const SETTLE = 3;

let work: string;
let prefix: string;
let dataDir: string;
let healthUrl: string;
let sshPort: number;
let sshd: ChildProcess | undefined;
let goodPack: string;
let brokenPack: string;
let crashingPack: string;
let installRoot: string;
let installOutput: string;
let vmEnv: Record<string, string>;
let deployEnv: Record<string, string>;
let servicePath: string;

let builtImports: Set<string>;

/** The npm packages the built JavaScript imports (a package's name, without the file inside it). */
function packagesImportedBy(dir: string): Set<string> {
  const found = new Set<string>();
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.js')) continue;
    const text = fs.readFileSync(path.join(entry.parentPath, entry.name), 'utf8');
    for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)['"](@?[a-z0-9][a-z0-9._-]*(?:\/[a-z0-9._-]+)*)['"]/gm)) {
      const specifier = match[1] as string;
      if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
      found.add(specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'));
    }
  }
  return found;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function must(file: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CommandResult> {
  const result = await command(file, args, options);
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
  return result;
}

/** ssh with the deploy key to the VM, `input` on its stdin: what a thief of the key could try. */
function sshWithKey(args: string[], input = ''): Promise<CommandResult> {
  const child = spawn('ssh', [
    '-p', String(sshPort), '-i', vmEnv.LAMBDA_VM_KEY_FILE as string,
    '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${vmEnv.LAMBDA_VM_KNOWN_HOSTS_FILE as string}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    ...args,
  ], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(input);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

/** Runs the runner's side of a deploy, as the deploy workflow does. */
function ship(sha: string, pack: string, env: Record<string, string> = {}): Promise<CommandResult> {
  return command('bash', [path.join(ROOT, 'scripts', 'ship.sh'), sha, pack], { env: { ...vmEnv, ...env } });
}

const currentName = (): string => path.basename(fs.readlinkSync(path.join(prefix, 'current')));
const releases = (): string[] => fs.readdirSync(path.join(prefix, 'releases')).filter((name) => !name.startsWith('.')).sort();
const serverPid = (): number => Number(fs.readFileSync(path.join(work, 'server.pid'), 'utf8'));

async function health(): Promise<{ status: number; body: string }> {
  const response = await fetch(healthUrl);
  return { status: response.status, body: await response.text() };
}

test.before(async () => {
  await requireDocker();
  if (!fs.existsSync(SSHD)) throw new Error(`${SSHD} is missing: run scripts/ensure-test-tools.sh (Debian's openssh-server)`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-deploy-vm-'));
  prefix = path.join(work, 'opt-lambda');
  dataDir = path.join(work, 'var-lib-lambda');
  const port = await freePort();
  healthUrl = `http://127.0.0.1:${port}/healthz`;

  // The pack, built once from a copy of the checkout as CI builds it (npm run build, scripts/pack.sh).
  const checkout = path.join(work, 'checkout');
  fs.mkdirSync(checkout);
  for (const part of fs.readdirSync(ROOT).filter((name) => !NOT_CHECKED_OUT.has(name))) {
    fs.cpSync(path.join(ROOT, part), path.join(checkout, part), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'));
  await must('npm', ['run', 'build'], { cwd: checkout });
  goodPack = path.join(work, 'good.tar.gz');
  await must('bash', [path.join(checkout, 'scripts', 'pack.sh'), goodPack]);
  builtImports = packagesImportedBy(path.join(checkout, 'dist'));
  // The broken build: the same pack whose server exits at once.
  const broken = path.join(work, 'broken');
  fs.mkdirSync(broken);
  await must('tar', ['-xzf', goodPack, '-C', broken]);
  fs.writeFileSync(path.join(broken, 'dist', 'server', 'main.js'), 'process.exit(1);\n');
  brokenPack = path.join(work, 'broken.tar.gz');
  await must('tar', ['-czf', brokenPack, '-C', broken, ...fs.readdirSync(broken)]);
  // The build that answers, then crashes a second after its first request: as a server does whose HTTP listener is up
  // before the rest of its start fails.
  fs.writeFileSync(
    path.join(broken, 'dist', 'server', 'main.js'),
    `import http from 'node:http';
let armed = false;
http.createServer((request, response) => {
  if (!armed) setTimeout(() => process.exit(1), 1000);
  armed = true;
  response.end('ok\\n');
}).listen(Number(process.env.LAMBDA_PORT), process.env.LAMBDA_HOST);
`,
  );
  crashingPack = path.join(work, 'crashing.tar.gz');
  await must('tar', ['-czf', crashingPack, '-C', broken, ...fs.readdirSync(broken)]);

  // The service's stand-in: what `systemctl restart lambda.service` does, with a pid file instead of systemd.
  const service = path.join(work, 'service.sh');
  servicePath = service;
  fs.writeFileSync(
    service,
    `#!/bin/sh
# Stops the server the pid file names, then starts the build current points at, in the background. With the file
# restart-fails present (a test's), fails once and leaves the server as it was, as a failed systemctl restart can.
pidfile=${work}/server.pid
if [ -f ${work}/restart-fails ]; then rm -f ${work}/restart-fails; exit 1; fi
if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$pidfile"
fi
cd ${prefix}/current || exit 1
LAMBDA_DATA_DIR=${dataDir} LAMBDA_PORT=${port} LAMBDA_HOST=127.0.0.1 LAMBDA_SSH_PORT=0 LAMBDA_CELLS=0 \\
  LAMBDA_API_KEY=${KEY} setsid ${process.execPath} dist/server/main.js >>${work}/server.log 2>&1 </dev/null &
echo $! >"$pidfile"
`,
    { mode: 0o755 },
  );

  // sshd of its own: loopback, a port of its own, keys and config in the temporary folder.
  const ssh = path.join(work, 'ssh');
  fs.mkdirSync(ssh, { mode: 0o700 });
  await must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vm-host', '-f', path.join(ssh, 'host_key')]);
  await must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ci', '-f', path.join(ssh, 'ci_key')]);
  await must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'impostor', '-f', path.join(ssh, 'impostor_key')]);
  // The deploy key's line, written by the install script (under a try-out root) as on a VM: restricted, its command
  // forced to the receiver the script installed there. Not under /tmp, which is world-writable: sshd checks, with
  // StrictModes as on a VM, every folder above the keys (owned by root or the user, writable by no one else).
  // A checkout under /tmp (a CI clone) has no such folder above it: then the user's home, which has.
  const base = [path.join(ROOT, 'test-results'), path.join(os.homedir(), '.cache', 'lambda-tests')].find(sshdTrusts);
  if (!base) throw new Error(`no folder sshd's StrictModes accepts for the keys: neither ${ROOT} nor ${os.homedir()} has only safe folders above it`);
  fs.mkdirSync(base, { recursive: true });
  installRoot = fs.mkdtempSync(path.join(base, 'deploy-vm-root-'));
  installOutput = (
    await must('bash', [path.join(ROOT, 'scripts', 'install-vm.sh')], {
      env: { LAMBDA_INSTALL_ROOT: installRoot, LAMBDA_INSTALL_DEPLOY_KEY: fs.readFileSync(path.join(ssh, 'ci_key.pub'), 'utf8').trim() },
    })
  ).stdout;
  const authorizedKeys = path.join(installRoot, 'home', 'lambda-deploy', '.ssh', 'authorized_keys');
  sshPort = await freePort();
  const hostKey = fs.readFileSync(path.join(ssh, 'host_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  fs.writeFileSync(path.join(ssh, 'known_hosts'), `[127.0.0.1]:${sshPort} ${hostKey}\n`);
  const impostorKey = fs.readFileSync(path.join(ssh, 'impostor_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  fs.writeFileSync(path.join(ssh, 'wrong_known_hosts'), `[127.0.0.1]:${sshPort} ${impostorKey}\n`);
  const user = os.userInfo().username;
  deployEnv = {
    LAMBDA_DEPLOY_PREFIX: prefix,
    LAMBDA_DEPLOY_RESTART: `sh ${service}`,
    LAMBDA_DEPLOY_HEALTH_URL: healthUrl,
    LAMBDA_DEPLOY_HEALTH_TIMEOUT: '20',
    LAMBDA_DEPLOY_HEALTH_SETTLE: String(SETTLE),
    LAMBDA_DEPLOY_PID_FILE: path.join(work, 'server.pid'),
    // Production installs from the registry (npm ci --omit=dev); tests reach only loopback, so the build gets this
    // checkout's packages instead.
    LAMBDA_DEPLOY_INSTALL: `ln -s ${path.join(ROOT, 'node_modules')} node_modules`,
    LAMBDA_DEPLOY_KEEP: '3',
  };
  fs.writeFileSync(
    path.join(ssh, 'sshd_config'),
    [
      `Port ${sshPort}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(ssh, 'host_key')}`,
      `PidFile ${path.join(ssh, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `AllowUsers ${user}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes yes',
      'UsePAM no',
      // The deploy's variables, as an operator sets them on a VM: the receiver's environment comes from here, never
      // from the client.
      `SetEnv ${Object.entries(deployEnv).map(([name, value]) => `"${name}=${value}"`).join(' ')}`,
      '',
    ].join('\n'),
  );
  // As root, sshd wants its privilege separation folder, which Debian's own service makes at start.
  if (process.getuid?.() === 0 && !fs.existsSync('/run/sshd')) fs.mkdirSync('/run/sshd', { mode: 0o755 });
  const started = spawn(SSHD, ['-D', '-e', '-f', path.join(ssh, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  sshd = started;
  let sshdLog = '';
  started.stderr?.on('data', (chunk: Buffer) => (sshdLog += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    started.once('exit', (code) => reject(new Error(`sshd exited ${code}: ${sshdLog}`)));
    const poll = setInterval(() => {
      if (sshdLog.includes('Server listening')) {
        clearInterval(poll);
        resolve();
      }
    }, 50);
  });

  vmEnv = {
    LAMBDA_VM_HOST: '127.0.0.1',
    LAMBDA_VM_USER: user,
    LAMBDA_VM_PORT: String(sshPort),
    LAMBDA_VM_KEY_FILE: path.join(ssh, 'ci_key'),
    LAMBDA_VM_KNOWN_HOSTS_FILE: path.join(ssh, 'known_hosts'),
  };
});

test.after.always(async () => {
  if (work && fs.existsSync(path.join(work, 'server.pid'))) {
    try {
      process.kill(serverPid(), 'SIGTERM');
    } catch {
      // already gone
    }
  }
  sshd?.kill('SIGTERM');
  if (work) fs.rmSync(work, { recursive: true, force: true });
  if (installRoot) fs.rmSync(installRoot, { recursive: true, force: true });
});

test.serial('the build imports only packages a production install has (dependencies, not devDependencies)', (t) => {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  t.true(builtImports.has('better-sqlite3'), `the scan finds imports: ${[...builtImports].join(', ')}`);
  t.deepEqual([...builtImports].filter((name) => !(name in manifest.dependencies)), []);
});

test.serial('a good build shipped over SSH is installed, made current and answers GET /healthz', async (t) => {
  const shipped = await ship(GOOD_A, goodPack);
  t.is(shipped.code, 0, shipped.stderr + shipped.stdout);
  t.regex(shipped.stdout, new RegExp(`${GOOD_A} is live`));
  t.is(currentName(), GOOD_A);
  t.true(fs.lstatSync(path.join(prefix, 'current')).isSymbolicLink());
  t.true(fs.existsSync(path.join(prefix, 'releases', GOOD_A, 'node_modules')), 'npm packages installed in the build');
  t.deepEqual(await health(), { status: 200, body: 'ok\n' });
  t.is(fs.realpathSync(`/proc/${serverPid()}/cwd`), fs.realpathSync(path.join(prefix, 'releases', GOOD_A)), 'the server runs from the new build');
});

test.serial('the next good build goes live and old builds are pruned to the bound; the data folder is the server\'s', async (t) => {
  const serverId = fs.readFileSync(path.join(dataDir, 'server-id'), 'utf8');
  // Two older builds from before, the oldest first.
  for (const [name, age] of [['1111111', 3000], ['2222222', 2000]] as const) {
    const dir = path.join(prefix, 'releases', name);
    fs.mkdirSync(dir);
    const then = new Date(Date.now() - age * 1000);
    fs.utimesSync(dir, then, then);
  }
  const shipped = await ship(GOOD_B, goodPack);
  t.is(shipped.code, 0, shipped.stderr + shipped.stdout);
  t.is(currentName(), GOOD_B);
  t.deepEqual(releases(), ['2222222', GOOD_A, GOOD_B].sort(), 'three kept: the newest, current and the one before it among them');
  t.regex(shipped.stdout, /Removing old build 1111111/);
  t.deepEqual(await health(), { status: 200, body: 'ok\n' });
  t.is(fs.readFileSync(path.join(dataDir, 'server-id'), 'utf8'), serverId, 'the same data folder across deploys');
  t.false(fs.readdirSync(prefix).some((name) => name === 'data'), 'no data folder under the builds');
});

test.serial('a build that fails its health check is switched back: the previous build serves again and the deploy fails saying so', async (t) => {
  const shipped = await ship(BROKEN, brokenPack);
  t.not(shipped.code, 0);
  t.regex(shipped.stderr, new RegExp(`did not answer 200 from a new process within 20s and keep answering for ${SETTLE}s after starting ${BROKEN}; switching back to ${GOOD_B}`));
  t.regex(shipped.stderr, new RegExp(`deploy of ${BROKEN} failed: .*switched back to ${GOOD_B}, which answers again`));
  t.is(currentName(), GOOD_B);
  t.false(releases().includes(BROKEN), 'the failed build is removed');
  t.deepEqual(await health(), { status: 200, body: 'ok\n' });
  t.is(fs.realpathSync(`/proc/${serverPid()}/cwd`), fs.realpathSync(path.join(prefix, 'releases', GOOD_B)));
});

test.serial('a failed restart is a failed deploy: the old process answering as before is not taken for the new build', async (t) => {
  const before = serverPid();
  fs.writeFileSync(path.join(work, 'restart-fails'), '');
  const shipped = await ship(UNRESTARTED, goodPack);
  t.not(shipped.code, 0);
  t.notRegex(shipped.stdout, /is live/);
  t.regex(shipped.stderr, new RegExp(`the restart command failed after starting ${UNRESTARTED}; switching back to ${GOOD_B}`));
  t.regex(shipped.stderr, new RegExp(`deploy of ${UNRESTARTED} failed: the restart command failed; switched back to ${GOOD_B}, which answers again`));
  t.is(currentName(), GOOD_B, 'current points at a build that runs');
  t.false(releases().includes(UNRESTARTED));
  t.not(serverPid(), before, 'the switch back restarted the service');
  t.is(fs.realpathSync(`/proc/${serverPid()}/cwd`), fs.realpathSync(path.join(prefix, 'releases', GOOD_B)));
  t.deepEqual(await health(), { status: 200, body: 'ok\n' });
});

test.serial('a build that answers and then crashes within the settle period is switched back', async (t) => {
  const shipped = await ship(CRASHING, crashingPack);
  t.not(shipped.code, 0);
  t.notRegex(shipped.stdout, /is live/);
  t.regex(shipped.stdout, /Process \d+ answers; checking it keeps answering/, 'it did answer once');
  t.regex(shipped.stderr, new RegExp(`stopped answering 200 from process \\d+ within ${SETTLE}s of its first 200`));
  t.regex(shipped.stderr, new RegExp(`deploy of ${CRASHING} failed: .*switched back to ${GOOD_B}, which answers again`));
  t.is(currentName(), GOOD_B);
  t.false(releases().includes(CRASHING));
  t.deepEqual(await health(), { status: 200, body: 'ok\n' });
  t.is(fs.realpathSync(`/proc/${serverPid()}/cwd`), fs.realpathSync(path.join(prefix, 'releases', GOOD_B)));
});

test.serial('the deploy key\'s authorized_keys and its folders are root\'s: the key cannot add another', (t) => {
  // Deploys above logged in through this file, with sshd's StrictModes on.
  const home = path.join(installRoot, 'home', 'lambda-deploy');
  for (const [file, mode] of [[home, 0o755], [path.join(home, '.ssh'), 0o755], [path.join(home, '.ssh', 'authorized_keys'), 0o644]] as const) {
    const stat = fs.lstatSync(file);
    t.is(stat.mode & 0o7777, mode, file);
    // As root the script made them root's; as another user (a CI runner) it prints the chown it would run.
    t.true(stat.uid === 0 || installOutput.includes(`would run: chown -h root:root ${file}\n`), `${file} is root's`);
  }
  t.false(fs.readFileSync(path.join(home, '.ssh', 'authorized_keys'), 'utf8').split('\n').some((line) => line && !line.startsWith('restrict,command=')));
});

test.serial('a VM showing another host key than the pinned one is refused before anything is sent', async (t) => {
  const before = releases();
  const shipped = await ship('d'.repeat(40), goodPack, { LAMBDA_VM_KNOWN_HOSTS_FILE: path.join(work, 'ssh', 'wrong_known_hosts') });
  t.not(shipped.code, 0);
  t.regex(shipped.stderr, /Host key verification failed/);
  t.deepEqual(releases(), before);
  t.is(currentName(), GOOD_B);
});

test.serial('a SHA that is not hex digits cannot name a folder outside releases/', async (t) => {
  const before = fs.readdirSync(prefix).sort();
  const shipped = await ship('../../escape', goodPack);
  t.is(shipped.code, 2);
  t.regex(shipped.stderr, /must be a commit SHA/);
  t.deepEqual(fs.readdirSync(prefix).sort(), before);
  t.false(fs.existsSync(path.join(work, 'escape')));
  t.is(currentName(), GOOD_B);
});

test.serial('the deploy key runs no shell command: the receiver refuses it without running it', async (t) => {
  const marker = path.join(work, 'ran');
  const result = await sshWithKey(['--', '127.0.0.1', `id; touch ${marker}`]);
  t.is(result.code, 2, result.stderr);
  t.regex(result.stderr, /this key only deploys: the command must be a commit SHA/);
  t.notRegex(result.stdout, /uid=/);
  t.false(fs.existsSync(marker), 'nothing of the command ran');
  const shell = await sshWithKey(['--', '127.0.0.1'], 'id\n');
  t.is(shell.code, 2, 'no shell without a command either');
  t.notRegex(shell.stdout, /uid=/);
  t.is(currentName(), GOOD_B);
});

test.serial('the deploy key forwards no port: what listens on the VM\'s loopback stays out of reach', async (t) => {
  // sshd itself always listens there: a forward that worked would bring back its greeting.
  const forwarded = await sshWithKey(['-W', `127.0.0.1:${sshPort}`, '--', '127.0.0.1']);
  t.not(forwarded.code, 0);
  t.notRegex(forwarded.stdout, /SSH-2\.0/);
  t.regex(forwarded.stderr, /administratively prohibited/);
});

test.serial('a 200 from a program that is not the service (bound first during the restart) is not taken for a live build', async (t) => {
  // The service is down and another program holds its port, answering 200 to everything.
  process.kill(serverPid(), 'SIGTERM');
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      try {
        process.kill(serverPid(), 0);
      } catch {
        clearInterval(poll);
        resolve();
      }
    }, 50);
  });
  const impostor = spawn(process.execPath, ['-e', `require('node:http').createServer((q, s) => s.end('ok\\n')).listen(${new URL(healthUrl).port}, '127.0.0.1', () => console.log('listening'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => impostor.kill('SIGKILL'));
  await new Promise<void>((resolve) => impostor.stdout.once('data', () => resolve()));
  t.deepEqual(await health(), { status: 200, body: 'ok\n' }, 'the impostor answers as the service would');

  const deployed = await command('bash', [path.join(ROOT, 'scripts', 'deploy.sh'), GOOD_A, goodPack], {
    env: { ...deployEnv, LAMBDA_DEPLOY_HEALTH_TIMEOUT: '3' },
  });
  t.regex(deployed.stderr, /answers 200, but what listens on port \d+ is not the service's process/);
  t.notRegex(deployed.stdout, /is live/);
  t.is(deployed.code, 3, deployed.stderr);
  t.is(currentName(), GOOD_B, 'switched back');

  // The port back to the service: the current build serves again.
  impostor.kill('SIGKILL');
  await new Promise((resolve) => impostor.once('exit', resolve));
  await must('sh', [servicePath]);
  const after = await command('bash', [path.join(ROOT, 'scripts', 'deploy.sh'), GOOD_B, goodPack], { env: deployEnv });
  t.is(after.code, 0, after.stderr);
  t.regex(after.stdout, /already the current build/);
});

/** sshd's StrictModes: every folder from `dir` up to / is owned by root or this user and writable by no one else. */
function sshdTrusts(dir: string): boolean {
  const uid = process.getuid?.() ?? 0;
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    if (fs.existsSync(at)) {
      const stat = fs.statSync(at);
      if ((stat.uid !== 0 && stat.uid !== uid) || (stat.mode & 0o022) !== 0) return false;
    }
    if (at === path.dirname(at)) return true;
  }
}
