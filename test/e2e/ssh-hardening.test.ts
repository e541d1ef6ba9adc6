// End to end over real sockets and a real OpenSSH client: secret values on an SSH command line never reach the
// server's log, and connections that never log in are capped (per client, every loopback address being one, where the
// newest replaces the oldest, and in all) and closed after the identification or login timeout, while a real client
// still logs in, also during a flood from many loopback addresses.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import ssh2 from 'ssh2';
import { command, example, requireDocker, startLambda, type CommandResult, type Lambda } from '../helpers/lambda.js';

const PER_ADDRESS = 10;
const TOTAL = 24;
const SECRET = 'hunter2-s3cr3t-value';
const LOGIN_TIMEOUT_S = 10;

let lambda: Lambda;
let keys: string;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda({
    LAMBDA_CELLS: '0',
    LAMBDA_SSH_MAX_UNAUTHENTICATED: String(TOTAL),
    LAMBDA_SSH_MAX_UNAUTHENTICATED_PER_ADDRESS: String(PER_ADDRESS),
    LAMBDA_SSH_LOGIN_TIMEOUT: `${LOGIN_TIMEOUT_S}s`,
  });
  keys = fs.mkdtempSync(path.join(lambda.dataDir, 'keys-'));
  const made = await command('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'allowed@test', '-f', path.join(keys, 'allowed')]);
  if (made.code !== 0) throw new Error(made.stderr);
  const added = await lambda.cli(['keys', 'add', path.join(keys, 'allowed.pub')]);
  if (added.code !== 0) throw new Error(`keys add: ${added.stderr}`);
  const live = await lambda.push('greet', example('greet'));
  if (live.code !== 0) throw new Error(`could not deploy greet: ${live.stderr}`);
});

test.after.always(async () => {
  await lambda?.destroy();
});

/** The real client, from 127.0.0.1, with the added key. */
function ssh(remote: string[]): Promise<CommandResult> {
  const options = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'];
  return command('ssh', [...options, '-b', '127.0.0.1', '-i', path.join(keys, 'allowed'), '-p', String(lambda.sshPort), 'lambda@127.0.0.1', ...remote]);
}

async function waitFor(condition: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Probe {
  socket: net.Socket;
  /** The server greeted it (held), or closed it first (refused). */
  first: Promise<'held' | 'refused'>;
  closed: boolean;
}

/** A TCP connection from `from` that never sends a byte. */
function silent(from: string): Probe {
  const socket = net.connect({ host: '127.0.0.1', port: lambda.sshPort, localAddress: from });
  const probe: Probe = {
    socket,
    closed: false,
    first: new Promise((resolve) => {
      socket.once('data', () => resolve('held'));
      socket.once('close', () => resolve('refused'));
    }),
  };
  socket.on('error', () => {});
  socket.once('close', () => (probe.closed = true));
  return probe;
}

/**
 * How many probes the server holds once every probe has its first answer and the closes already sent have arrived: a
 * connection evicted for a newer one got the banner first, and its close can reach this process a little after.
 */
const held = async (probes: Probe[]) => {
  await Promise.all(probes.map((probe) => probe.first));
  const open = () => probes.filter((probe) => !probe.closed).length;
  for (let last = -1, polls = 0; open() !== last && polls < 20; polls++) {
    last = open();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return open();
};

test.serial('env set over SSH: the value is masked in the server log', async (t) => {
  const set = await ssh(['env', 'set', 'greet', `DB_PASSWORD=${SECRET}`, `'OTHER=two words ${SECRET}'`]);
  t.is(set.code, 0, set.stderr);
  const login = await ssh(['login', '--key', SECRET]);
  t.is(login.code, 2, 'login is not run over SSH, but its line is still logged');
  await waitFor(() => /SSH .*: login --key/.test(lambda.output()), 'the login line');
  t.regex(lambda.output(), /SSH .*: login --key •+ → exit 2/);
  t.regex(lambda.output(), /-----> SSH .*: env set greet DB_PASSWORD=•+ OTHER=•+ → exit 0/);
  t.false(lambda.output().includes(SECRET), 'no secret value in the server output');
  t.false(lambda.output().includes('hunter2'));
});

test.serial('env set over SSH with a quoted or escaped name on a line that does not split: the value is not logged', async (t) => {
  const quoted = await ssh([`env set greet "DB_PASSWORD"=${SECRET}-quoted '`]);
  const escaped = await ssh([`env set greet \\DB_PASSWORD=${SECRET}-escaped "`]);
  t.not(quoted.code, 0, 'an unclosed quote is refused');
  t.not(escaped.code, 0);
  await waitFor(() => (lambda.output().match(/SSH .*: env set greet .* → exit [1-9]/g) ?? []).length >= 2, 'both lines in the log');
  t.regex(lambda.output(), /SSH .*: env set greet •+ → exit [1-9]/);
  t.false(lambda.output().includes(`${SECRET}-quoted`), 'the value after a quoted name is not in the server output');
  t.false(lambda.output().includes(`${SECRET}-escaped`), 'the value after an escaped name is not in the server output');
});

test.serial('idle connections from one address: each past the per-address cap replaces the oldest, so none is refused and a real client still logs in', async (t) => {
  // One at a time, so which connections are the oldest is known.
  const probes: Probe[] = [];
  for (let i = 0; i < 30; i++) {
    const probe = silent('127.0.0.2');
    probes.push(probe);
    t.is(await probe.first, 'held', `connection ${i + 1} from one address was refused`);
  }
  await waitFor(() => probes.slice(0, -PER_ADDRESS).every((probe) => probe.closed), 'the oldest connections to be closed');
  const list = await ssh(['list']);
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, /greet/);
  // Never identifying themselves ends the rest too.
  await waitFor(() => probes.every((probe) => probe.closed), 'the server to close silent connections');
  for (const probe of probes) probe.socket.destroy();
});

test.serial('twelve idle connections from the client\'s own address do not lock it out of SSH', async (t) => {
  const probes = Array.from({ length: 12 }, () => silent('127.0.0.1'));
  await Promise.all(probes.map((probe) => probe.first));
  const list = await ssh(['list']);
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, /greet/);
  for (const probe of probes) probe.socket.destroy();
  await waitFor(() => probes.every((probe) => probe.closed), 'the probes to close');
});

test.serial('a connection that never sends its SSH identification is closed before one that did', async (t) => {
  const idle = silent('127.0.0.3');
  const talking = silent('127.0.0.3');
  talking.socket.write('SSH-2.0-probe\r\n');
  t.is(await idle.first, 'held');
  t.is(await talking.first, 'held');
  await waitFor(() => idle.closed, 'the idle connection to be closed');
  t.false(talking.closed, 'the one that identified itself has until the login timeout');
  await waitFor(() => talking.closed, 'the login timeout');
});

test.serial('silent connections from many addresses: at most the total cap are held', async (t) => {
  const probes = Array.from({ length: 100 }, (_, i) => silent(`127.0.0.${10 + (i % 10)}`));
  const count = await held(probes);
  t.log(`held ${count} of 100 from 10 addresses`);
  t.true(count <= TOTAL, `${count} unauthenticated connections held in all`);
  for (const probe of probes) probe.socket.destroy();
  await waitFor(() => probes.every((probe) => probe.closed), 'the probes to close');
  const list = await ssh(['list']);
  t.is(list.code, 0, list.stderr);
});

/**
 * Sockets from 127.0.0.2–.11, `perAddress` each, that send an SSH identification and are all replaced by fresh ones
 * every `periodMs` (before the login timeout closes them), as an attacker keeps the total cap full. Runs until
 * stopped, at most `maxMs`.
 */
function flood(perAddress: number, periodMs: number, maxMs: number): { stop(): Promise<void> } {
  const sockets = new Set<net.Socket>();
  const open = (from: string) => {
    const socket = net.connect({ host: '127.0.0.1', port: lambda.sshPort, localAddress: from }, () => socket.write('SSH-2.0-x\r\n'));
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  };
  const round = () => {
    for (const socket of sockets) socket.destroy();
    for (let i = 0; i < perAddress * 10; i++) open(`127.0.0.${2 + (i % 10)}`);
  };
  round();
  const timer = setInterval(round, periodMs);
  const limit = setTimeout(() => clearInterval(timer), maxMs);
  return {
    async stop() {
      clearInterval(timer);
      clearTimeout(limit);
      for (const socket of sockets) socket.destroy();
      await waitFor(() => sockets.size === 0, 'the flood sockets to close');
    },
  };
}

test.serial('sockets from ten loopback addresses filling the total cap do not lock a real client out of SSH', async (t) => {
  // Three per address: from ten addresses that is more than the total cap, which counting by exact address let fill.
  const attack = flood(3, (LOGIN_TIMEOUT_S - 2) * 1000, 60_000);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (let i = 0; i < 3; i++) {
      const list = await ssh(['list']);
      t.is(list.code, 0, `login ${i + 1} during the flood: ${list.stderr}`);
      t.regex(list.stdout, /greet/);
    }
  } finally {
    await attack.stop();
  }
});

/** One password login as `username` with the ssh2 client (OpenSSH will not send a newline in a user name); resolves when refused. */
function refusedLogin(username: string): Promise<void> {
  return new Promise((resolve) => {
    const client = new ssh2.Client();
    const timer = setTimeout(() => client.end(), 10_000);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    client.on('error', () => client.end());
    client.on('close', done);
    client.on('ready', () => client.end());
    client.connect({ host: '127.0.0.1', port: lambda.sshPort, username, password: 'guess', tryKeyboard: false, readyTimeout: 10_000 });
  });
}

test.serial('a user name holding a newline cannot forge a server log line; refused logins are logged at a bounded rate', async (t) => {
  const FORGED = '-----> SSH forged-by-username';
  for (let i = 0; i < 5; i++) await refusedLogin(`x\n${FORGED}\r\n${FORGED}`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const lines = lambda.output().split(/\r?\n|\r/);
  t.false(lines.some((line) => line.startsWith(FORGED)), 'no log line starts with the forged text');
  const refused = lines.filter((line) => line.includes('refused password login'));
  t.true(refused.length >= 1, 'the refusal is logged');
  t.true(refused.length < 5, `five refusals in a row from one address are not five lines: ${refused.length}`);
  t.true(refused.some((line) => line.includes('\\n')), 'the newline is shown escaped');
});
