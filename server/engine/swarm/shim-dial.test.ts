// The python3 and go shims' swarm link without an engine: each, run as a plain process, dials a TLS relay in this test
// with the platform's authority pinned, sends `<id> <secret>` before anything else, is then served as its instance on
// that connection, and sends its output on a second one whose line ends with ` log`; a relay another authority
// signed never gets a line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { RELAY_HOST, ensureAuthority, signRelayCertificate, type KeyPair } from './certificates.js';

const PACKS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../buildpacks');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-shim-dial-'));
const children: ChildProcess[] = [];
const relays: tls.Server[] = [];
let authority: KeyPair;
let impostor: KeyPair;
let goShim: string;

test.before(async () => {
  authority = await ensureAuthority(path.join(dir, 'authority'));
  impostor = await ensureAuthority(path.join(dir, 'impostor'));
  // The go shim as its base image holds it: a static binary, built here by this machine's toolchain.
  goShim = path.join(dir, 'go-shim');
  execFileSync('go', ['build', '-trimpath', '-o', goShim, '.'], {
    cwd: path.join(PACKS, 'go', 'shim'),
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly', GOPROXY: 'off', GOTOOLCHAIN: 'local' },
    stdio: 'pipe',
  });
});

test.after.always(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const relay of relays) relay.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Relay {
  port: number;
  /** Each connection's first line, in order. */
  lines: string[];
  /** What arrived after a ` log` line. */
  log(): string;
  /** The next request connection (its line read), to send the host's requests on. */
  nextRequestConnection(): Promise<tls.TLSSocket>;
  /** Resolves at the first handshake the client broke off, or at the first line: whichever comes first. */
  refused: Promise<void>;
}

/** What the platform's relay and the gateway together do, on loopback: TLS with a certificate `signer` signed for the relay's name. */
async function relaySignedBy(signer: KeyPair, name: string): Promise<Relay> {
  const pair = await signRelayCertificate(signer, path.join(dir, `relay-${name}`), name);
  const lines: string[] = [];
  let logText = '';
  const ready: tls.TLSSocket[] = [];
  const waiting: ((socket: tls.TLSSocket) => void)[] = [];
  let onRefused: () => void = () => undefined;
  const refused = new Promise<void>((resolve) => (onRefused = resolve));
  const server = tls.createServer({ cert: fs.readFileSync(pair.certFile), key: fs.readFileSync(pair.keyFile) }, (socket) => {
    socket.on('error', () => undefined);
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('utf8');
      const end = head.indexOf('\n');
      if (end === -1) return;
      socket.off('data', onData);
      const line = head.slice(0, end);
      lines.push(line);
      onRefused();
      if (line.endsWith(' log')) {
        logText += head.slice(end + 1);
        socket.on('data', (more: Buffer) => (logText += more.toString('utf8')));
        return;
      }
      socket.pause();
      const taker = waiting.shift();
      if (taker) taker(socket);
      else ready.push(socket);
    };
    socket.on('data', onData);
  });
  server.on('tlsClientError', () => onRefused());
  relays.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    lines,
    log: () => logText,
    refused,
    nextRequestConnection: () => new Promise((resolve) => (ready.length ? resolve(ready.shift() as tls.TLSSocket) : waiting.push(resolve))),
  };
}

/** One HTTP/1.1 request on a dialled connection, as the host sends it; the whole answer once the shim closes. */
function ask(socket: tls.TLSSocket, target: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.once('close', () => resolve(answer));
    socket.resume();
    const lines = Object.entries({ host: 'lambda', 'content-length': '0', connection: 'close', ...headers }).map(([key, value]) => `${key}: ${value}\r\n`);
    socket.write(`GET ${target} HTTP/1.1\r\n${lines.join('')}\r\n`);
  });
}

type Runtime = 'python3' | 'go';

/** The runtime's shim as a swarm task runs it: no socket folder, its secret in a file, the gateway over TLS. */
function startShim(runtime: Runtime, id: string, secret: string, port: number, ca: string): ChildProcess {
  const task = path.join(dir, `task-${id}`);
  fs.mkdirSync(task);
  const secretFile = path.join(dir, `secret-${id}`);
  fs.writeFileSync(secretFile, secret, { mode: 0o600 });
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LAMBDA_SOCKET_DIR: path.join(dir, 'no-socket-here'),
    LAMBDA_TASK_ROOT: task,
    LAMBDA_FUNCTION_VERSION: '3',
    LAMBDA_GATEWAY: `tls://127.0.0.1:${port}`,
    LAMBDA_GATEWAY_NAME: RELAY_HOST,
    LAMBDA_GATEWAY_AUTHORITY: ca,
    LAMBDA_SECRET_FILE: secretFile,
    LAMBDA_INSTANCE_ID: id,
  };
  let child: ChildProcess;
  if (runtime === 'python3') {
    fs.writeFileSync(path.join(task, 'app.py'), 'def handler(event, context):\n    print("hello over tls")\n    return "hi from python3"\n');
    child = spawn('python3', ['-I', '-B', path.join(PACKS, 'python3', 'shim')], { env: { ...env, LAMBDA_HANDLER: 'app.handler' }, stdio: ['ignore', 'ignore', 'ignore'] });
  } else {
    // The go runtime runs the program `function` once per invocation: its stdout is the answer, its stderr its log.
    fs.writeFileSync(path.join(task, 'function'), '#!/bin/sh\ncat >/dev/null\necho "hello over tls" >&2\nprintf "hi from go"\n', { mode: 0o755 });
    child = spawn(goShim, [], { env, stdio: ['ignore', 'ignore', 'ignore'] });
  }
  children.push(child);
  return child;
}

async function until(what: string, probe: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const runtime of ['python3', 'go'] as const) {
  test.serial(`${runtime}: the shim dials the relay its authority signed, says its line first, is served there and logs on a second connection`, async (t) => {
    const relay = await relaySignedBy(authority, `right-${runtime}`);
    const id = runtime === 'go' ? 'goshimgoshim' : 'pyshimpyshim';
    const secret = 'ab'.repeat(32);
    startShim(runtime, id, secret, relay.port, authority.certFile);
    const connection = await relay.nextRequestConnection();
    const health = await ask(connection, '/', { 'x-lambda-internal-secret': secret, 'x-lambda-internal-invoke': 'health' });
    t.regex(health, /^HTTP\/1\.1 200 /);
    t.regex(health, /ok$/);
    const answer = await ask(await relay.nextRequestConnection(), '/?name=tls', {});
    t.regex(answer, /^HTTP\/1\.1 200 /);
    t.true(answer.includes(`hi from ${runtime}`), answer);
    await until('the output and REPORT on the log connection', () => relay.log().includes('hello over tls') && relay.log().includes('\tp\tREPORT RequestId:'));
    t.regex(relay.log(), /^\d+\t[oe]\thello over tls$/m);
    t.true(relay.lines.includes(`${id} ${secret} log`), relay.lines.join('|'));
    t.true(relay.lines.includes(`${id} ${secret}`), relay.lines.join('|'));
    t.deepEqual([...new Set(relay.lines)].sort(), [`${id} ${secret}`, `${id} ${secret} log`]);
  });

  test.serial(`${runtime}: a relay another authority signed never gets the line`, async (t) => {
    const relay = await relaySignedBy(impostor, `forged-${runtime}`);
    startShim(runtime, runtime === 'go' ? 'goforgedgofo' : 'pyforgedpyfo', 'cd'.repeat(32), relay.port, authority.certFile);
    // The shim dialled and broke off the handshake (again, as it retries); nothing it sent reached the relay.
    await relay.refused;
    t.deepEqual(relay.lines, []);
    await new Promise((resolve) => setTimeout(resolve, 500));
    t.deepEqual(relay.lines, []);
  });
}
