// The swarm link without an engine: the real node20 shim dials a TLS relay (here Node's, in front of the gateway's
// socket as the platform's relay is) with the platform's authority pinned, proves itself with its dial-in line, and
// is then served as its instance; a wrong secret, another function's relay, or another authority gets nothing.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { ChildProcess } from 'node:child_process';
import test from 'ava';
import { InstanceClients } from '../../instances/requests/client.js';
import { InstanceLogSockets } from '../../instances/log-socket.js';
import { createLogStore } from '../../logs/store.js';
import type { LogLine } from '../../logs/format.js';
import { startNodeShim } from '../../../test/helpers/node-shim.js';
import { example, fixture } from '../../../test/helpers/lambda.js';
import { RELAY_HOST, ensureAuthority, signRelayCertificate, type KeyPair } from './certificates.js';
import { GATEWAY_SOCKET } from './link.js';
import { createSwarmGateways, linkFolder, type SwarmGateways } from './gateway.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-gateway-'));
const clients = new InstanceClients();
const children: ChildProcess[] = [];
const servers: net.Server[] = [];
let gateways: SwarmGateways;
let authority: KeyPair;
let impostor: KeyPair;
let relayPair: KeyPair;

test.before(async () => {
  authority = await ensureAuthority(path.join(dir, 'authority'));
  impostor = await ensureAuthority(path.join(dir, 'impostor'));
  relayPair = await signRelayCertificate(authority, path.join(dir, 'relays'), 'greet');
  gateways = createSwarmGateways(path.join(dir, 'links'), clients);
});

test.after.always(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const server of servers) server.close();
  gateways?.close();
  for (const id of ['aaaaaaaaaaa1', 'aaaaaaaaaaa2', 'aaaaaaaaaaa3', 'aaaaaaaaaaa4', 'aaaaaaaaaaa5', 'aaaaaaaaaaa6']) await clients.destroy(id);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** What the platform's relay does, on loopback: ends TLS with the relay's certificate, joins it to `fn`'s socket. */
async function relayTo(fn: string): Promise<number> {
  const socketDir = gateways.open(fn);
  const server = tls.createServer({ cert: fs.readFileSync(relayPair.certFile), key: fs.readFileSync(relayPair.keyFile) }, (socket) => {
    const upstream = net.connect(path.join(socketDir, GATEWAY_SOCKET));
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** The greet example's shim as a swarm task runs it: no socket folder, its secret in a file, the gateway over TLS. */
function shim(id: string, port: number, secret: string, ca = authority.certFile, root = example('greet')): void {
  const secretFile = path.join(dir, `secret-${id}`);
  fs.writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  const { child } = startNodeShim(path.join(dir, 'no-socket-here'), {
    LAMBDA_TASK_ROOT: root,
    LAMBDA_HANDLER: 'index.handler',
    LAMBDA_GATEWAY: `tls://127.0.0.1:${port}`,
    LAMBDA_GATEWAY_NAME: RELAY_HOST,
    LAMBDA_GATEWAY_AUTHORITY: ca,
    LAMBDA_SECRET_FILE: secretFile,
    LAMBDA_INSTANCE_ID: id,
  });
  children.push(child);
}

function member(id: string, fn: string) {
  fs.mkdirSync(path.join(dir, id));
  const instance = { id, fn, sha: 'f'.repeat(40), socketPath: path.join(dir, id, 'host.sock') };
  gateways.admit(instance);
  return instance;
}

test.serial('a shim dialling over TLS with its id and secret is served as its instance', async (t) => {
  const port = await relayTo('greet');
  const instance = member('aaaaaaaaaaa1', 'greet');
  shim(instance.id, port, clients.secretOf(instance.id));
  t.true(await clients.healthy(instance, 10_000));
  const answer = await clients.request(instance, { path: '/?name=Swarm', method: 'GET' });
  t.is(answer.statusCode, 200);
  t.is(JSON.parse(await answer.text(1024)).message, 'Hello, Swarm!');
});

test.serial('a wrong secret, an instance of another function, and a shim pinning another authority are never served', async (t) => {
  const port = await relayTo('greet');
  const guessed = member('aaaaaaaaaaa2', 'greet');
  shim(guessed.id, port, 'f'.repeat(64));
  // Known to the gateway, but through another function's relay: its secret is right, its socket is not its own.
  const stranger = member('aaaaaaaaaaa3', 'other');
  shim(stranger.id, port, clients.secretOf(stranger.id));
  const fooled = member('aaaaaaaaaaa4', 'greet');
  shim(fooled.id, port, clients.secretOf(fooled.id), impostor.certFile);
  for (const instance of [guessed, stranger, fooled]) t.false(await clients.healthy(instance, 3_000), instance.id);
});

test.serial("the function's output crosses the link on a second connection and lands in the function's log", async (t) => {
  const port = await relayTo('logger');
  const store = createLogStore({ dir: path.join(dir, 'logs'), fileBytes: 1024 * 1024, files: 2, builds: 1, buildBytes: 1024 });
  const sockets = new InstanceLogSockets(store, { ratePerSecond: 1024 * 1024, versionOf: () => undefined });
  t.teardown(() => {
    sockets.closeAll();
    store.close();
  });
  const instance = member('aaaaaaaaaaa5', 'logger');
  sockets.open(instance, 3);
  shim(instance.id, port, clients.secretOf(instance.id), authority.certFile, fixture('logger'));
  t.true(await clients.healthy(instance, 10_000));
  sockets.sent(instance.id);
  const answer = await clients.request(instance, { path: '/?mark=far', method: 'GET', headers: clients.internal(instance.id, 'http') });
  t.is(answer.statusCode, 200);
  const lines = async () => {
    const all: LogLine[] = [];
    for await (const batch of store.read('logger', {})) all.push(...batch);
    return all.map((line) => line.text);
  };
  let seen: string[] = [];
  for (let i = 0; i < 200 && !seen.some((text) => text.startsWith('REPORT')); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    seen = await lines();
  }
  t.true(seen.includes('hello far'), seen.join('\n'));
  t.true(seen.some((text) => text.startsWith('REPORT RequestId:')));
});

test.serial('an instance holds at most two output connections: a third is closed', async (t) => {
  const socketDir = gateways.open('chatty');
  const store = createLogStore({ dir: path.join(dir, 'logs-chatty'), fileBytes: 1024 * 1024, files: 2, builds: 1, buildBytes: 1024 });
  const sockets = new InstanceLogSockets(store, { ratePerSecond: 1024 * 1024, versionOf: () => undefined });
  const instance = member('aaaaaaaaaaa6', 'chatty');
  sockets.open(instance, 1);
  const opened: net.Socket[] = [];
  t.teardown(() => {
    for (const socket of opened) socket.destroy();
    sockets.closeAll();
    store.close();
  });
  /** A log dial-in straight at the function's socket (as its relay would pass it on); resolves once closed, or after `ms`. */
  const dialLog = (ms: number) =>
    new Promise<'closed' | 'open'>((resolve) => {
      const socket = net.connect(path.join(socketDir, GATEWAY_SOCKET), () => socket.write(`${instance.id} ${clients.secretOf(instance.id)} log\n`));
      opened.push(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => resolve('closed'));
      setTimeout(() => resolve('open'), ms);
    });
  t.deepEqual(await Promise.all([dialLog(1000), dialLog(1000)]), ['open', 'open']);
  t.is(await dialLog(10_000), 'closed');
});

test.serial("a 63-character function's socket fits a socket's path; dropping a function stops its listener and removes its folder", async (t) => {
  const long = `l${'o'.repeat(61)}g`;
  const socketDir = gateways.open(long);
  t.true(path.basename(socketDir).length <= 24, socketDir);
  t.not(linkFolder(long), linkFolder(`l${'o'.repeat(61)}h`));
  const reached = () => new Promise<boolean>((resolve) => {
    const socket = net.connect(path.join(socketDir, GATEWAY_SOCKET), () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
  t.true(await reached());
  gateways.drop(long);
  t.false(fs.existsSync(socketDir));
  t.false(await reached());
  // Dropping what is gone (or was never opened) is nothing.
  gateways.drop(long);
  gateways.drop('never-opened');
});

test.serial('the sweep removes the folders of functions other than those named, and keeps those open', async (t) => {
  const linksDir = path.join(dir, 'links');
  fs.mkdirSync(path.join(linksDir, 'gone'), { recursive: true });
  fs.mkdirSync(path.join(linksDir, linkFolder(`k${'e'.repeat(40)}p`)), { recursive: true });
  const open = gateways.open('open-one');
  const removed = gateways.sweep([`k${'e'.repeat(40)}p`, 'greet']);
  t.true(removed >= 1);
  t.false(fs.existsSync(path.join(linksDir, 'gone')));
  t.true(fs.existsSync(path.join(linksDir, linkFolder(`k${'e'.repeat(40)}p`))));
  t.true(fs.existsSync(open), 'a function listening now is kept whatever the list says');
});
