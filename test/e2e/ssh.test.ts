// End to end over a real OpenSSH client: keys added with the CLI, the CLI's verbs over SSH with the same
// output and exit statuses, git push over SSH with the same remote: lines as HTTP, and every refusal performed.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import test from 'ava';
import { command, example, fixture, requireDocker, startLambda, type CommandResult, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;
let keys: string;

test.before(async () => {
  await requireDocker();
  // The refusal tests below run at once, all from 127.0.0.1: more handshakes at a time than one address may have by default.
  lambda = await startLambda({ LAMBDA_CELLS: '0', LAMBDA_SSH_MAX_UNAUTHENTICATED_PER_ADDRESS: '100' });
  keys = fs.mkdtempSync(path.join(lambda.dataDir, 'keys-'));
  for (const name of ['allowed', 'stranger', 'removed', 'rsa']) {
    const made = await command('ssh-keygen', ['-q', '-t', name === 'rsa' ? 'rsa' : 'ed25519', '-N', '', '-C', `${name}@test`, '-f', path.join(keys, name)]);
    if (made.code !== 0) throw new Error(made.stderr);
  }
  const added = await lambda.cli(['keys', 'add', path.join(keys, 'allowed.pub')]);
  if (added.code !== 0) throw new Error(`keys add: ${added.stderr}`);
  const live = await lambda.push('greet', example('greet'));
  if (live.code !== 0) throw new Error(`could not deploy greet: ${live.stderr}`);
});

test.after.always(async () => {
  await lambda?.destroy();
});

/** OpenSSH's options for a throwaway server: no host key prompts, only the key given, never a password prompt. */
function sshOptions(key = 'allowed'): string[] {
  return ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-i', path.join(keys, key)];
}

/** `ssh -p PORT lambda@127.0.0.1 ...remote` with the real client; `extra` goes before the destination. */
function ssh(remote: string[], options: { key?: string; extra?: string[]; user?: string; env?: Record<string, string> } = {}): Promise<CommandResult> {
  return command('ssh', [...sshOptions(options.key), ...(options.extra ?? []), '-p', String(lambda.sshPort), `${options.user ?? 'lambda'}@127.0.0.1`, ...remote], { env: options.env });
}

/** Commits `dir` in a scratch repo and pushes main to `remote`. */
async function gitPush(dir: string, remote: string, env: Record<string, string> = {}): Promise<CommandResult> {
  const work = fs.mkdtempSync(path.join(lambda.dataDir, 'push-'));
  fs.cpSync(dir, work, { recursive: true });
  const git = (args: string[]) => command('git', args, { cwd: work, env });
  await git(['init', '-q', '-b', 'main']);
  await git(['add', '-A']);
  await git(['-c', 'user.name=test', '-c', 'user.email=test@lambda.local', 'commit', '-qm', 'deploy']);
  const pushed = await git(['push', remote, 'main', '--force']);
  fs.rmSync(work, { recursive: true, force: true });
  return pushed;
}

const gitSsh = (key = 'allowed') => ({ GIT_SSH_COMMAND: ['ssh', ...sshOptions(key)].join(' ') });
const sshRemote = (name: string) => `ssh://lambda@127.0.0.1:${lambda.sshPort}/${name}.git`;
const remoteLines = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('remote:')).map((line) => line.trimEnd());

test.serial('keys add, list and remove through the CLI; the fingerprint is the one ssh-keygen prints', async (t) => {
  const printed = (await command('ssh-keygen', ['-lf', path.join(keys, 'removed.pub')])).stdout.split(' ')[1];
  const added = await lambda.cli(['keys', 'add', path.join(keys, 'removed.pub'), '--name', 'laptop', '--json']);
  t.is(added.code, 0, added.stderr);
  const key = JSON.parse(added.stdout) as { id: string; name: string; fingerprint: string; algorithm: string };
  t.is(key.fingerprint, printed);
  t.is(key.name, 'laptop');
  t.is(key.algorithm, 'ssh-ed25519');

  const listed = await lambda.cli(['keys', 'list']);
  t.is(listed.code, 0, listed.stderr);
  t.regex(listed.stdout, /^ID\s+NAME\s+TYPE\s+FINGERPRINT\s+ADDED\s+LAST USED\n/);
  t.regex(listed.stdout, new RegExp(`^${key.id}\\s+laptop\\s+ssh-ed25519\\s+${printed.replace(/[+/]/g, '\\$&')}\\s`, 'm'));
  t.regex(listed.stdout, /allowed@test/, 'the name defaults to the key comment');

  t.is((await ssh(['list'], { key: 'removed' })).code, 0, 'the added key logs in');
  const again = await lambda.cli(['keys', 'add', path.join(keys, 'removed.pub')]);
  t.is(again.code, 1);
  t.regex(again.stderr, /already added \(LAMBDA_ERR_SSH_KEY_EXISTS\)/);
  const secret = await lambda.cli(['keys', 'add', path.join(keys, 'removed')]);
  t.is(secret.code, 2);
  t.regex(secret.stderr, /private key.*LAMBDA_ERR_SSH_KEY_INVALID/);

  const missing = await lambda.cli(['keys', 'add', path.join(keys, 'nothing.pub')]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /cannot read .*nothing\.pub: ENOENT/);
  // The REST API behind the verbs: a body without a key is a 400, an authorized_keys line with options too.
  const noKey = await lambda.api('/api/v1/ssh-keys', { method: 'POST', body: '{"name":"x"}' });
  t.is(noKey.status, 400);
  const withOptions = await lambda.api('/api/v1/ssh-keys', { method: 'POST', body: JSON.stringify({ publicKey: `command="sh" ${fs.readFileSync(path.join(keys, 'stranger.pub'), 'utf8')}` }) });
  t.is(withOptions.status, 400);
  t.is(((await withOptions.json()) as { error: { code: string } }).error.code, 'LAMBDA_ERR_SSH_KEY_INVALID');
  const unauthorized = await fetch(`${lambda.base}/api/v1/ssh-keys`);
  t.is(unauthorized.status, 401);

  const removed = await lambda.cli(['keys', 'remove', key.id]);
  t.is(removed.code, 0, removed.stderr);
  t.is(removed.stdout, `Removed SSH key ${key.id}\n`);
  const refused = await ssh(['list'], { key: 'removed' });
  t.is(refused.code, 255);
  t.regex(refused.stderr, /Permission denied \(publickey\)/);
  const unknown = await lambda.cli(['keys', 'remove', key.id]);
  t.is(unknown.code, 4);
  t.regex(unknown.stderr, /LAMBDA_ERR_SSH_KEY_NOT_FOUND/);
});

test.serial('a removed key runs no further command on a connection it keeps open (ControlMaster)', async (t) => {
  const added = await lambda.cli(['keys', 'add', path.join(keys, 'stranger.pub'), '--json']);
  t.is(added.code, 0, added.stderr);
  const { id } = JSON.parse(added.stdout) as { id: string };
  const socket = path.join(keys, 'control.sock');
  const master = ['-o', 'ControlMaster=yes', '-o', `ControlPath=${socket}`];
  const shared = { key: 'stranger', extra: ['-o', 'ControlMaster=no', '-o', `ControlPath=${socket}`] };
  const opened = await ssh([], { key: 'stranger', extra: [...master, '-f', '-N'] });
  t.is(opened.code, 0, opened.stderr);
  try {
    t.is((await ssh(['list'], shared)).code, 0, 'a command over the shared connection');
    t.is((await lambda.cli(['keys', 'remove', id])).code, 0);
    const after = await ssh(['list'], shared);
    t.is(after.code, 3);
    t.regex(after.stderr, /has been removed \(lambda keys remove\).*LAMBDA_ERR_SSH_REFUSED/);
    t.is(after.stdout, '');
  } finally {
    await command('ssh', ['-o', `ControlPath=${socket}`, '-O', 'exit', 'x']).catch(() => undefined);
  }
  t.is((await ssh(['list'], { key: 'stranger' })).code, 255, 'and it cannot log in again');
});

test.serial('an RSA key logs in too (signed with rsa-sha2), once added', async (t) => {
  t.is((await ssh(['list'], { key: 'rsa' })).code, 255);
  const added = await lambda.cli(['keys', 'add', path.join(keys, 'rsa.pub')]);
  t.is(added.code, 0, added.stderr);
  const listed = await ssh(['list'], { key: 'rsa' });
  t.is(listed.code, 0, listed.stderr);
  t.regex(listed.stdout, /^greet\s+v1\s/m);
});

test.serial('list, nodes, invoke and logs print what the CLI prints, with its exit statuses, --json too', async (t) => {
  const cases = [
    ['list'],
    ['--json', 'list'],
    ['nodes'],
    ['--json', 'nodes'],
    ['invoke', 'greet', '--data', '{"name":"SSH"}'],
    ['invoke', 'greet', '--json', '--data', '{"name":"SSH"}'],
    ['invoke', 'nobody'],
    ['invoke', 'nobody', '--json'],
    ['invoke', 'greet', '--data', 'not json'],
    ['logs', 'Greet'],
  ];
  for (const argv of cases) {
    const viaCli = await lambda.cli(argv);
    // What a shell would send for these words: each one single-quoted.
    const viaSsh = await ssh([argv.map((word) => `'${word}'`).join(' ')]);
    t.is(viaSsh.stdout, viaCli.stdout, argv.join(' '));
    t.is(viaSsh.stderr, viaCli.stderr, argv.join(' '));
    t.is(viaSsh.code, viaCli.code, argv.join(' '));
  }
  const invoked = await ssh(['invoke', 'greet', '--data', `'{"name":"SSH"}'`]);
  t.deepEqual(JSON.parse(invoked.stdout), { message: 'Hello, SSH!' });
  t.is((await ssh(['invoke', 'nobody'])).code, 4);
});

test.serial("help over SSH lists the commands SSH runs and what each does; help VERB shows that verb's options", async (t) => {
  const help = await ssh(['help']);
  t.is(help.code, 0, help.stderr);
  t.regex(help.stdout, /^ {2}logs +print a function's output/m);
  t.regex(help.stdout, /^ {2}invocations +/m);
  t.notRegex(help.stdout, /^ {2}(deploy|tokens|keys|login)\b/m);
  t.is((await ssh(["'--help'"])).stdout, help.stdout);
  const logs = await ssh(['help', 'logs']);
  t.is(logs.code, 0, logs.stderr);
  t.regex(logs.stdout, /--follow/);
});

test.serial('logs over SSH, and logs --follow streams new lines as they come', async (t) => {
  t.is((await lambda.cli(['invoke', 'greet'])).code, 0);
  const viaCli = await lambda.cli(['logs', 'greet', '-n', '0']);
  const viaSsh = await ssh(['logs', 'greet', '-n', '0']);
  t.is(viaSsh.code, 0, viaSsh.stderr);
  t.is(viaSsh.stdout, viaCli.stdout);
  t.regex(viaSsh.stdout, /REPORT RequestId/);

  const follower = spawn('ssh', [...sshOptions(), '-p', String(lambda.sshPort), 'lambda@127.0.0.1', 'logs', 'greet', '--follow', '-n', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let followed = '';
  follower.stdout.on('data', (chunk: Buffer) => (followed += chunk.toString()));
  const exited = new Promise((resolve) => follower.once('close', resolve));
  try {
    await waitFor(() => followed.includes('\n'), 'the first followed line');
    const starts = () => (followed.match(/START RequestId/g) ?? []).length;
    const reports = () => (followed.match(/REPORT RequestId/g) ?? []).length;
    const before = starts();
    const invoked = await ssh(['invoke', 'greet', '--data', `'{"name":"Follow"}'`]);
    t.is(invoked.code, 0, invoked.stderr);
    await waitFor(() => starts() > before && reports() >= starts(), 'the new invocation');
    t.regex(followed, /^\S+ v1 \S+ \| REPORT RequestId/m);
  } finally {
    follower.kill('SIGTERM');
    await exited;
  }
  // The client went: the server ends the command's follow (it is logged as ended) instead of streaming to nobody.
  const ended = /-----> SSH \S+ \(allowed@test\): logs greet --follow -n 1 → exit \d+/;
  await waitFor(() => ended.test(lambda.output()), 'the followed command to end');
  t.regex(lambda.output(), ended);
});

test.serial('git push over SSH deploys with the same remote: lines as over HTTP', async (t) => {
  const overHttp = await lambda.push('echo-http', fixture('echo'));
  t.is(overHttp.code, 0, overHttp.stderr);
  const overSsh = await gitPush(fixture('echo'), sshRemote('echo-ssh'), gitSsh());
  t.is(overSsh.code, 0, overSsh.stderr);
  const normalise = (lines: string[], name: string) =>
    lines.map((line) => line.replaceAll(name, 'NAME').replace(/\d+ ms/, 'N ms').replace(/\b[0-9a-f]{12}\b/g, 'SHA').replace(/ \(cached\)/, ''));
  t.deepEqual(normalise(remoteLines(overSsh.stderr), 'echo-ssh'), normalise(remoteLines(overHttp.stderr), 'echo-http'));
  t.true(remoteLines(overSsh.stderr).some((line) => line.startsWith('remote: -----> Live at http://echo-ssh.localhost:')));
  const answered = await lambda.fetch('/fn/echo-ssh/string');
  t.is(await answered.json(), 'just a string');

  // Fetching over SSH gives back the pushed commit.
  const clone = path.join(lambda.dataDir, 'clone');
  const cloned = await command('git', ['clone', '-q', sshRemote('echo-ssh'), clone], { env: gitSsh() });
  t.is(cloned.code, 0, cloned.stderr);
  t.true(fs.existsSync(path.join(clone, 'lambda.yaml')));
});

test.serial('a bad push over SSH is rejected as over HTTP, and the live version keeps serving', async (t) => {
  const overHttp = await lambda.push('greet', fixture('no-manifest'));
  const overSsh = await gitPush(fixture('no-manifest'), sshRemote('greet'), gitSsh());
  t.not(overSsh.code, 0);
  t.is(overHttp.code, overSsh.code);
  t.deepEqual(remoteLines(overSsh.stderr), remoteLines(overHttp.stderr));
  t.true(remoteLines(overSsh.stderr).includes('remote:  !     lambda.yaml is missing at the repository root (LAMBDA_ERR_MANIFEST_MISSING)'));
  t.regex(overSsh.stderr, /\[remote rejected\] main -> main \(pre-receive hook declined\)/);
  const still = await lambda.fetch('/fn/greet/?name=Still');
  t.deepEqual(await still.json(), { message: 'Hello, Still!' });

  // A new function whose first push fails leaves no repository behind.
  const fresh = await gitPush(fixture('no-manifest'), sshRemote('never-made'), gitSsh());
  t.not(fresh.code, 0);
  t.false(fs.existsSync(path.join(lambda.dataDir, 'data', 'repos', 'never-made.git')));
  // And a push with a key that was never added is refused before git runs.
  const stranger = await gitPush(fixture('echo'), sshRemote('echo-ssh'), gitSsh('stranger'));
  t.not(stranger.code, 0);
  t.regex(stranger.stderr, /Permission denied \(publickey\)/);
});

const refusal = test.macro({
  async exec(t, run: () => Promise<CommandResult>, expected: { code: number; stderr: RegExp }) {
    const result = await run();
    t.is(result.code, expected.code, result.stderr);
    t.regex(result.stderr, expected.stderr);
    t.is(result.stdout, '');
  },
  title: (label = '') => `refused: ${label}`,
});

const denied = { code: 255, stderr: /lambda@127\.0\.0\.1: Permission denied \(publickey\)/ };
test('a key never added', refusal, () => ssh(['list'], { key: 'stranger' }), denied);
test('passwords and keyboard-interactive', refusal, () => command('ssh', ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive', '-p', String(lambda.sshPort), 'lambda@127.0.0.1', 'list']), denied);
test('another user, even with an added key', refusal, () => ssh(['list'], { user: 'root' }), { code: 255, stderr: /root@127\.0\.0\.1: Permission denied \(publickey\)/ });
test('a shell', refusal, () => ssh([]), { code: 2, stderr: /Lambda has no shell.*\(LAMBDA_ERR_SSH_REFUSED\)/ });
test('a terminal', refusal, () => ssh(['list'], { extra: ['-tt'] }), { code: 255, stderr: /PTY allocation request failed/ });
test('the sftp subsystem', refusal, () => ssh(['sftp'], { extra: ['-s'] }), { code: 1, stderr: /the "sftp" subsystem is not offered.*LAMBDA_ERR_SSH_REFUSED/ });
test('port forwarding to a local port (-W, as -L does)', refusal, () => ssh([], { extra: ['-W', `127.0.0.1:${lambda.port}`] }), { code: 255, stderr: /stdio forwarding failed/ });
test('remote port forwarding (-R)', refusal, () => ssh(['list'], { extra: ['-o', 'ExitOnForwardFailure=yes', '-R', `0:127.0.0.1:${lambda.port}`] }), { code: 255, stderr: /remote port forwarding failed/ });
test('a shell command with ; unquoted', refusal, () => ssh(['logs', 'greet;', 'touch', '/tmp/lambda-ssh-pwned']), { code: 2, stderr: /^ ! {5}no shell runs commands here, and ";" is shell syntax.*\(LAMBDA_ERR_SSH_REFUSED\)\n$/ });
test('a command substitution', refusal, () => ssh(['logs', '$(touch /tmp/lambda-ssh-pwned)']), { code: 2, stderr: /"\$" is shell syntax/ });
test('a quoted name with a shell command in it', refusal, () => ssh(["logs 'greet; rm -rf /'"]), { code: 2, stderr: /invalid function name "greet; rm -rf \/".*LAMBDA_ERR_INVALID_NAME/ });
test('a name with ..', refusal, () => ssh(['logs', '../greet']), { code: 2, stderr: /invalid function name "\.\.\/greet"/ });
test('a name with /', refusal, () => ssh(['invoke', 'a/b']), { code: 2, stderr: /invalid function name "a\/b"/ });
test('a verb SSH does not run (deploy reads the server\'s files)', refusal, () => ssh(['deploy', '/etc']), { code: 2, stderr: /"deploy" is not a command SSH runs/ });
test('a misspelt verb, with the near one', refusal, () => ssh(['lgos', 'greet']), { code: 2, stderr: /^ ! {5}unknown command 'lgos'; did you mean 'logs'\? SSH runs .*\(LAMBDA_ERR_SSH_REFUSED\)\n$/ });
test('tokens over SSH', refusal, () => ssh(['tokens', 'create']), { code: 2, stderr: /"tokens" is not a command SSH runs/ });
test('a CLI option before the verb', refusal, () => ssh(["'--version'"]), { code: 2, stderr: /"--version" is not a command SSH runs/ });
test('--upload-pack smuggled in as the repository', refusal, () => ssh(["git-upload-pack '--upload-pack=touch /tmp/lambda-ssh-pwned'"]), { code: 2, stderr: /invalid function name "--upload-pack=touch \/tmp\/lambda-ssh-pwned"/ });
test('a repository path with ..', refusal, () => ssh(["git-receive-pack '/../../etc.git'"]), { code: 2, stderr: /invalid function name "\.\.\/\.\.\/etc"/ });
test('git with extra arguments', refusal, () => ssh(["git-receive-pack '/greet.git' --stateless-rpc"]), { code: 2, stderr: /takes exactly one repository path/ });
test('fetching a function that does not exist', refusal, () => ssh(["git-upload-pack '/nobody.git'"]), { code: 4, stderr: /function "nobody" does not exist/ });

test.after('no refused command ran anything', (t) => {
  t.false(fs.existsSync('/tmp/lambda-ssh-pwned'));
});

test('agent and X11 forwarding are refused with a message, and the command still runs', async (t) => {
  const agent = await command('ssh-agent', ['-s']);
  const socket = /SSH_AUTH_SOCK=([^;]+);/.exec(agent.stdout)?.[1] as string;
  const pid = /SSH_AGENT_PID=(\d+);/.exec(agent.stdout)?.[1] as string;
  try {
    const forwarded = await ssh(['list'], { extra: ['-A', '-X'], env: { SSH_AUTH_SOCK: socket, DISPLAY: ':0' } });
    t.is(forwarded.code, 0, forwarded.stderr);
    t.regex(forwarded.stderr, /^ ! {5}agent forwarding refused: Lambda only runs commands and git over SSH$/m);
    t.regex(forwarded.stderr, /^ ! {5}X11 forwarding refused/m);
    t.regex(forwarded.stdout, /^greet\s+v1\s/m);
  } finally {
    process.kill(Number(pid));
  }
});

test.serial('the host key is made once, kept 0600 in the data directory, and the same after a restart', async (t) => {
  const file = path.join(lambda.dataDir, 'data', 'ssh_host_ed25519_key');
  t.is(fs.statSync(file).mode & 0o777, 0o600);
  const scan = async () => {
    const scanned = await command('ssh-keyscan', ['-t', 'ed25519', '-p', String(lambda.sshPort), '127.0.0.1']);
    const line = scanned.stdout.split('\n').find((one) => one.includes('ssh-ed25519'));
    if (!line) throw new Error(`ssh-keyscan found no key: ${scanned.stderr}`);
    return line.split(' ').slice(1).join(' ');
  };
  const before = await scan();
  t.true(lambda.output().includes(`host key SHA256:`));
  await lambda.restart('SIGTERM');
  t.is(await scan(), before);
  t.is((await ssh(['list'])).code, 0, 'keys survive the restart too');
});

async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
