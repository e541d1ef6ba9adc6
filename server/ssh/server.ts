// The SSH server: user `lambda`, public keys added with `lambda keys add`, commands as the CLI runs
// them and git push/fetch; shells, terminals, forwarding and subsystems are refused.
import net from 'node:net';
import { Readable } from 'node:stream';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, ServerChannel, Session } from 'ssh2';
import { asLambdaError, escapeControl, type LambdaError } from '../errors.js';
import type { SshKeyLookup } from '../access/ssh-keys.js';
import type { Io } from '../../cli/io.js';
import { stepLine, warnLine } from '../logs/progress-text.js';
import type { SshChannel } from './channel.js';
import { parseSshCommand, SSH_VERBS } from './commands.js';
import { serveGit, type GitOverSsh } from './git.js';
import type { LoopbackCredentials } from './loopback.js';
import { maskCommand } from './audit.js';
import { createLoginGate, type LoginGateLimits } from './gate.js';

const { Server, utils } = ssh2;

/** The CLI's in-process entry (cli/main.ts `run`), handed in by the composition root; it runs on the CLI's own streams type. */
export type RunCli = (argv: readonly string[], io: Io) => Promise<number>;

export interface SshServerOptions {
  host: string;
  port: number;
  hostKey: string;
  lookupKey: SshKeyLookup;
  runCli: RunCli;
  /** This server's REST API over loopback, for the CLI runs. */
  apiUrl(): string;
  credentials: LoopbackCredentials;
  git: GitOverSsh;
  log(line: string): void;
  /** Connections not yet logged in: caps and time to log in (defaults: SSH_LIMITS). */
  limits?: SshLimits;
}

export interface SshLimits extends LoginGateLimits {
  /** A connection that has not logged in by then is closed (LAMBDA_SSH_LOGIN_TIMEOUT). */
  loginTimeoutMs: number;
}

/** As config/default.yaml sets them. */
export const SSH_LIMITS: SshLimits = { maxUnauthenticated: 100, maxUnauthenticatedPerAddress: 10, loginTimeoutMs: 10_000 };

export interface RunningSshServer {
  port: number;
  close(): Promise<void>;
}

const USER = 'lambda';
/** OpenSSH offers each key it has; past this many failed attempts the connection is closed. */
const MAX_AUTH_ATTEMPTS = 10;
const USAGE_EXIT = 2;
/**
 * Time a new connection has to send its SSH identification line: a client sends it at once, so one that has not in
 * 3 s holds a slot for nothing and is closed (the login timeout still bounds the whole login).
 */
const IDENT_TIMEOUT_MS = 3_000;
/** Refused connections are reported at most this often, so a flood of them does not flood the log. */
const REFUSED_REPORT_MS = 10_000;
/** Addresses whose refused logins are being counted between reports; beyond, the oldest is forgotten. */
const MAX_REPORTED_ADDRESSES = 1_000;

export async function startSshServer(options: SshServerOptions): Promise<RunningSshServer> {
  const connections = new Set<Connection>();
  const limits = options.limits ?? SSH_LIMITS;
  // Connections not logged in yet, by remote address and port: what to call once one logs in.
  const awaitingLogin = new Map<string, { socket: net.Socket; loggedIn(): void }>();
  // Keepalives end the connection of a client that vanished (a laptop closed mid-push) instead of holding git open.
  const server = new Server({ hostKeys: [options.hostKey], ident: 'Lambda', keepaliveInterval: 15_000, keepaliveCountMax: 4 }, (client, info) => {
    connections.add(client);
    const key = `${info.ip}|${info.port}`;
    client.on('ready', () => awaitingLogin.get(key)?.loggedIn());
    client.on('close', () => {
      connections.delete(client);
    });
    client.on('error', () => {});
    let attempts = 0;
    // Who logged in, for the log line of each command they run.
    let login: Login = { who: '', stillAdded: () => false };
    const refusedLogin = (line: string) => reportRefusedLogin(info.ip, line);
    client.on('authentication', (ctx) => {
      if (authenticate(ctx, options, (done) => (login = done), refusedLogin)) return;
      if (++attempts >= MAX_AUTH_ATTEMPTS) client.end();
    });
    // Port forwarding (-L, -W, -R) and Unix socket forwarding: no listener means ssh2 refuses them; these say why in the log.
    client.on('tcpip', (_accept, reject, info) => {
      options.log(warnLine(`SSH: refused port forwarding to ${escapeControl(String(info.destIP).slice(0, 100))}:${Number(info.destPort)}`));
      reject();
    });
    client.on('openssh.streamlocal', (_accept, reject) => reject());
    client.on('request', (_accept, reject, name) => {
      options.log(warnLine(`SSH: refused ${escapeControl(String(name).slice(0, 40))}`));
      reject?.();
    });
    client.on('ready', () => client.on('session', (accept) => handleSession(accept(), client, login, options)));
  });
  // Refused logins: one line per address per REFUSED_REPORT_MS, with how many were not shown since, so a client
  // trying names or passwords in a loop cannot flood the log.
  const loginReports = new Map<string, { at: number; unreported: number }>();
  const reportRefusedLogin = (address: string, line: string) => {
    const at = Date.now();
    const seen = loginReports.get(address);
    if (seen && at - seen.at < REFUSED_REPORT_MS) {
      seen.unreported++;
      return;
    }
    const more = seen?.unreported ? ` (and ${seen.unreported} more refused from this address since the last report)` : '';
    loginReports.delete(address);
    loginReports.set(address, { at, unreported: 0 });
    if (loginReports.size > MAX_REPORTED_ADDRESSES) loginReports.delete(loginReports.keys().next().value as string);
    options.log(`${line} from ${escapeControl(address)}${more}`);
  };
  // The TCP side is ours, so a connection is counted (and makes room past the caps) before ssh2 says a word, and the
  // login timeout runs from the first byte: a client that never sends its version string is closed too.
  const gate = createLoginGate(limits);
  let refused = 0;
  let reported = 0;
  const tcp = net.createServer((socket) => {
    const ticket = gate.admit(socket.remoteAddress, () => socket.destroy());
    if (!ticket) {
      socket.destroy();
      refused++;
      if (Date.now() - reported >= REFUSED_REPORT_MS) {
        options.log(warnLine(`SSH: refused ${refused} connection(s) over the cap on connections not logged in (${limits.maxUnauthenticated} in all, ${limits.maxUnauthenticatedPerAddress} per address; last from ${socket.remoteAddress ?? '?'})`));
        reported = Date.now();
        refused = 0;
      }
      return;
    }
    const key = `${socket.remoteAddress}|${socket.remotePort}`;
    const timer = setTimeout(() => socket.destroy(), limits.loginTimeoutMs);
    // A real client sends its identification line at once; a socket that has not within IDENT_TIMEOUT_MS is idle.
    const identTimer = setTimeout(() => socket.destroy(), Math.min(IDENT_TIMEOUT_MS, limits.loginTimeoutMs));
    let head = 0;
    const watchIdent = (chunk: Buffer) => {
      head += chunk.length;
      if (!chunk.includes(0x0a) && head < 256) return;
      clearTimeout(identTimer);
      ticket.identified();
      socket.off('data', watchIdent);
    };
    const loggedIn = () => {
      clearTimeout(timer);
      clearTimeout(identTimer);
      ticket.release();
      awaitingLogin.delete(key);
    };
    awaitingLogin.set(key, { socket, loggedIn });
    socket.once('close', loggedIn);
    server.injectSocket(socket);
    socket.on('data', watchIdent);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`the SSH port ${options.host}:${options.port} is in use (another server?): set LAMBDA_SSH_PORT to a free one (0 picks one)`) : error),
    );
    tcp.listen(options.port, options.host, () => resolve());
  });
  tcp.on('error', (error) => options.log(warnLine(`SSH: ${error.message}`)));
  const port = (tcp.address() as net.AddressInfo).port;
  return {
    port,
    async close() {
      await new Promise<void>((resolve) => {
        // A client that never answers the goodbye does not hold the shutdown for long.
        const giveUp = setTimeout(resolve, 5_000);
        tcp.close(() => {
          clearTimeout(giveUp);
          resolve();
        });
        for (const client of connections) client.end();
        for (const { socket } of awaitingLogin.values()) socket.destroy();
      });
    },
  };
}

/** Public keys only, for user `lambda`; the signature is checked against the stored key (ssh2's documented way). */
/** Who logged in (for the log), and whether their key is still added (`lambda keys remove` ends its next command). */
interface Login {
  who: string;
  stillAdded(): boolean;
}

function authenticate(ctx: AuthContext, options: SshServerOptions, loggedIn: (login: Login) => void, refused: (line: string) => void): boolean {
  if (ctx.username !== USER || ctx.method !== 'publickey') {
    // `none` is how every client starts, asking which methods there are: only publickey. The name is the client's
    // text: its control characters are escaped, so a newline in it cannot start a forged log line.
    if (ctx.method !== 'none') {
      refused(warnLine(`SSH: refused ${escapeControl(String(ctx.method).slice(0, 20))} login for "${escapeControl(ctx.username.slice(0, 40))}" (only user ${USER}, with a public key)`));
    }
    ctx.reject(['publickey']);
    return ctx.method === 'none';
  }
  const record = options.lookupKey(ctx.key.algo, ctx.key.data);
  if (!record) {
    ctx.reject(['publickey']);
    return false;
  }
  // Without a signature the client only asks whether this key would do; it signs next.
  if (!ctx.signature || !ctx.blob) {
    ctx.accept();
    return true;
  }
  const key = utils.parseKey(`${record.algorithm} ${record.publicKey}`);
  const parsed = key instanceof Error ? undefined : Array.isArray(key) ? key[0] : key;
  if (!parsed || parsed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
    ctx.reject(['publickey']);
    return false;
  }
  const { algo, data } = ctx.key;
  loggedIn({ who: `${record.id}${record.name ? ` (${escapeControl(record.name)})` : ''}`, stillAdded: () => options.lookupKey(algo, Buffer.from(data)) !== undefined });
  ctx.accept();
  return true;
}

function handleSession(session: Session, client: Connection, login: Login, options: SshServerOptions): void {
  // ssh2 does not close a session's channel when the connection drops, so the channel's end is watched on all three.
  const io = (channel: ServerChannel) => channelIo(channel, [channel, session, client]);
  const refused: string[] = [];
  const refuse = (what: string) => (_accept: unknown, reject?: () => void) => {
    refused.push(what);
    reject?.();
  };
  session.on('pty', refuse('a terminal (pty)'));
  session.on('x11', refuse('X11 forwarding'));
  session.on('auth-agent', refuse('agent forwarding'));
  // Environment variables from the client (LANG, …) are ignored, not refused aloud: OpenSSH sends them unasked.
  session.on('env', (_accept, reject) => reject?.());
  session.on('signal', (_accept, reject) => reject?.());
  session.on('shell', (accept) => {
    // No command at all is a usage mistake, answered with status 2 like an unknown one.
    finish(io(accept()), refused, `Lambda has no shell. Run one command, e.g. ssh -p PORT ${USER}@HOST list (ssh -p PORT ${USER}@HOST help says what each does); commands: ${SSH_VERBS.join(', ')}`, 2);
  });
  session.on('subsystem', (accept, _reject, info) => {
    finish(io(accept()), refused, `the "${info.name.slice(0, 40)}" subsystem is not offered: only commands and git run over SSH here`, 1);
  });
  session.on('exec', (accept, _reject, info) => {
    const channel = accept();
    // A connection kept open (OpenSSH's ControlMaster) runs no more commands once its key is removed.
    if (!login.stillAdded()) {
      options.log(warnLine(`SSH ${login.who}: refused "${escapeControl(maskCommand(info.command))}": the key was removed`));
      finish(io(channel), [], 'the SSH key this connection logged in with has been removed (lambda keys remove); log in again with an added key', 3);
      return;
    }
    const started = Date.now();
    void execute(channel, io(channel), info.command, refused, options, login.who).then((status) => {
      // One line per command, as an audit trail: which key ran what (secret values masked), and how it ended.
      options.log(stepLine(`SSH ${login.who}: ${escapeControl(maskCommand(info.command))} → exit ${status} (${Date.now() - started} ms)`));
    });
  });
}

/** Writes `message` as an error line and ends the channel with `status`. */
function finish({ channel, io }: { channel: ServerChannel; io: SshChannel }, refused: string[], message: string, status: number): void {
  writeRefused(io, refused);
  io.stderr.write(`${warnLine(`${message} (LAMBDA_ERR_SSH_REFUSED)`)}\n`);
  close(channel, status);
}

async function execute(channel: ServerChannel, { io }: { io: SshChannel }, command: string, refused: string[], options: SshServerOptions, who: string): Promise<number> {
  writeRefused(io, refused);
  let json = false;
  let status: number;
  try {
    const parsed = parseSshCommand(command);
    if (parsed.kind === 'git') {
      status = await serveGit(options.git, parsed.service, parsed.name, io);
    } else if (parsed.kind === 'help') {
      io.stdout.write(parsed.text);
      status = 0;
    } else {
      json = parsed.argv.slice(0, parsed.argv.indexOf('--') === -1 ? undefined : parsed.argv.indexOf('--')).includes('--json');
      status = await runCli(parsed.argv, io, options, who);
    }
  } catch (error) {
    const failure = asLambdaError(error);
    io.stderr.write(json ? `${JSON.stringify({ error: { code: failure.code, message: failure.message } })}\n` : errorLine(failure));
    status = failure.kind === 'not_found' ? 4 : failure.kind === 'internal' ? 1 : USAGE_EXIT;
  }
  close(channel, status);
  return status;
}

async function runCli(argv: string[], io: SshChannel, options: SshServerOptions, who: string): Promise<number> {
  const grant = options.credentials.issue(who);
  io.onClose(() => grant.release());
  try {
    return await options.runCli(argv, {
      stdout: { write: (text) => io.stdout.write(text) },
      stderr: { write: (text) => io.stderr.write(text) },
      stdin: Readable.from([]),
      // Only what the run needs: this server, a key for this command alone, and no saved login.
      env: { LAMBDA_URL: options.apiUrl(), LAMBDA_API_KEY: grant.key, LAMBDA_CONFIG: '/nonexistent/lambda-ssh/config.json' },
    });
  } finally {
    grant.release();
  }
}

function errorLine(error: LambdaError): string {
  return `${warnLine(`${error.message} (${error.code})`)}\n`;
}

/** One line for each request the client made before its command that SSH here does not serve (a pty, port forwarding, …). */
function writeRefused(io: SshChannel, refused: string[]): void {
  for (const what of refused) io.stderr.write(`${warnLine(`${what} refused: Lambda only runs commands and git over SSH`)}\n`);
}

interface Closable {
  once(event: 'close', listener: () => void): unknown;
  removeListener(event: 'close', listener: () => void): unknown;
}

/** The channel's streams; writes after the client has gone are dropped. */
function channelIo(channel: ServerChannel, ends: Closable[]): { channel: ServerChannel; io: SshChannel } {
  let closed = false;
  const listeners: (() => void)[] = [];
  const onClosed = () => {
    if (closed) return;
    closed = true;
    // The connection outlives its channels (OpenSSH can multiplex many): leave no listener behind on it.
    for (const emitter of ends) emitter.removeListener('close', onClosed);
    for (const listener of listeners.splice(0)) listener();
  };
  for (const emitter of ends) emitter.once('close', onClosed);
  channel.on('error', onClosed);
  const writable = () => !closed && channel.writable;
  const io: SshChannel = {
    stdin: channel,
    stdout: { write: (data) => writable() && channel.write(data) },
    stderr: { write: (data) => writable() && channel.stderr.write(data) },
    onClose(listener) {
      if (closed) listener();
      else listeners.push(listener);
    },
  };
  return { channel, io };
}

function close(channel: ServerChannel, status: number): void {
  if (!channel.writable) return;
  channel.exit(status);
  channel.end();
}
