// End to end, the link between an instance on a worker and the gateway on the manager: through its function's relay,
// over TLS it pins, proving itself with its instance secret; and what an instance there cannot reach: another
// function's relay, the nodes' swarm ports, the registry.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { requireDocker, ROOT } from '../helpers/lambda.js';
import {
  REGISTRY_PULL, addressOn, createSwarm, importGoImage, importProbe, nodeAddress, startRegistry, tasksOf, waitFor,
  type Swarm,
} from '../helpers/swarm.js';
import { RELAY_HOST, ensureAuthority, signRelayCertificate } from '../../server/engine/swarm/certificates.js';
import { acceptDialIn } from '../../server/engine/swarm/dial-in.js';
import { GATEWAY_SOCKET, RELAY_PORT, functionNetwork, networkCreateArgs, relayServiceArgs } from '../../server/engine/swarm/link.js';

let swarm: Swarm | undefined;
let gateway: net.Server | undefined;
const secret = randomBytes(32).toString('hex');
const dialIns: string[] = [];
/** The registry's write side (`127.0.0.1:<port>`), on the manager's loopback. */
let registryPush = '';

test.before(async () => {
  await requireDocker();
  swarm = await createSwarm({ nodes: 2, insecureRegistries: [REGISTRY_PULL] });
  const s = swarm;
  registryPush = (await startRegistry(s)).push;
  const probe = await importProbe(s);
  const relayImage = await importGoImage(s, path.join(ROOT, 'server', 'engine', 'swarm', 'relay', 'main.go'), 'relay', [s.manager]);

  // The gateway's end for function a: a socket in a folder of its own, which only a's relay mounts.
  const socketDir = path.join(s.dir, 'data', 'links', 'a');
  fs.mkdirSync(socketDir, { recursive: true, mode: 0o755 });
  gateway = net.createServer((socket) => {
    void acceptDialIn(socket, (id) => (id === 'a-1' ? secret : undefined)).then((id) => {
      if (id === undefined) return;
      socket.on('error', () => undefined);
      dialIns.push(id);
      socket.end(`accepted ${id}\n`);
    });
  });
  await new Promise<void>((resolve) => gateway!.listen(path.join(socketDir, GATEWAY_SOCKET), resolve));
  // The relay runs as its own uid: it may connect, and the folder holds nothing else.
  fs.chmodSync(path.join(socketDir, GATEWAY_SOCKET), 0o666);

  const authority = await ensureAuthority(path.join(s.dir, 'data', 'swarm', 'authority'));
  const relayPair = await signRelayCertificate(authority, path.join(s.dir, 'data', 'swarm', 'relays'), 'a');
  const impostor = await ensureAuthority(path.join(s.dir, 'impostor'));
  await s.docker(s.manager, ['secret', 'create', 'relay-a-pem', relayPair.certFile]);
  await s.docker(s.manager, ['secret', 'create', 'relay-a-key', relayPair.keyFile]);
  await s.docker(s.manager, ['config', 'create', 'lambda-authority', authority.certFile]);
  await s.docker(s.manager, ['config', 'create', 'impostor-authority', impostor.certFile]);

  for (const fn of ['a', 'b']) await s.docker(s.manager, networkCreateArgs(fn, 'test'));
  await s.docker(s.manager, relayServiceArgs({ fn: 'a', serverId: 'test', authority: 'test', image: relayImage, socketDir, certSecret: 'relay-a-pem', keySecret: 'relay-a-key' }));
  // Instances of a and b on the worker, hardened as the relay; and one on a plain overlay, to show what --internal keeps out.
  const instance = (name: string, network: string, role = 'worker'): string[] => ['service', 'create', '--detach', '--name', name,
    '--constraint', `node.role==${role}`, '--network', network, '--user', '10001:10001', '--read-only', '--cap-drop', 'ALL',
    '--config', 'source=lambda-authority,target=/run/lambda/authority.pem',
    '--config', 'source=impostor-authority,target=/run/lambda/impostor.pem',
    '--no-resolve-image', probe, 'serve', ':8080'];
  await s.docker(s.manager, instance('fn-a', functionNetwork('a')));
  await s.docker(s.manager, instance('fn-b', functionNetwork('b')));
  await s.docker(s.manager, ['network', 'create', '--driver', 'overlay', 'plain']);
  await s.docker(s.manager, instance('control', 'plain'));
  // The same on the manager, where the registry and the swarm's API are the node's own services.
  await s.docker(s.manager, instance('fn-a-manager', functionNetwork('a'), 'manager'));
  await s.docker(s.manager, instance('control-manager', 'plain', 'manager'));
  for (const service of ['lambda-relay-a', 'fn-a', 'fn-b', 'control', 'fn-a-manager', 'control-manager']) {
    await waitFor(async () => (await tasksOf(s, service)).length === 1, 90_000, `the task of ${service}`);
  }
});

test.after.always(() => {
  gateway?.close();
  swarm?.destroy();
});

/** Runs the probe in `service`'s task; its output, or its error's last line when it failed. */
async function probeIn(service: string, args: string[]): Promise<string> {
  const s = swarm!;
  const [[node, container]] = await tasksOf(s, service);
  return s.docker(node, ['exec', container, '/probe', ...args], { timeoutMs: 30_000 }).then(
    (out) => out.trim(),
    (error: Error) => `failed: ${error.message.split('\n').pop()}`,
  );
}

const gatewayAddress = `${RELAY_HOST}:${RELAY_PORT}`;

test.serial('an instance on a worker reaches the gateway through its function\'s relay, pins its TLS, and proves itself with its secret', async (t) => {
  const s = swarm!;
  const [[relayNode]] = await tasksOf(s, 'lambda-relay-a');
  const [[instanceNode]] = await tasksOf(s, 'fn-a');
  t.is(relayNode.index, 0, 'the relay runs on the manager');
  t.is(instanceNode.index, 1, 'the instance runs on the worker');

  t.is(await probeIn('fn-a', ['tls', gatewayAddress, '/run/lambda/authority.pem', RELAY_HOST, `a-1 ${secret}`]), 'accepted a-1');
  t.deepEqual(dialIns, ['a-1']);
  // Another instance's id, or a guessed secret, is closed by the gateway unanswered.
  t.regex(await probeIn('fn-a', ['tls', gatewayAddress, '/run/lambda/authority.pem', RELAY_HOST, `a-2 ${secret}`]), /^failed: .*EOF/);
  t.regex(await probeIn('fn-a', ['tls', gatewayAddress, '/run/lambda/authority.pem', RELAY_HOST, `a-1 ${'0'.repeat(64)}`]), /^failed: .*EOF/);
  t.deepEqual(dialIns, ['a-1']);
  // An instance that trusts another authority does not take the relay's certificate: whoever holds a certificate
  // only the platform's authority signed is the relay, so no member of the overlay can pose as it.
  t.regex(await probeIn('fn-a', ['tls', gatewayAddress, '/run/lambda/impostor.pem', RELAY_HOST, `a-1 ${secret}`]), /certificate signed by unknown authority/);
});

test.serial('an instance of another function reaches neither the relay\'s name nor its address', async (t) => {
  const s = swarm!;
  const [[relayNode, relay]] = await tasksOf(s, 'lambda-relay-a');
  const relayAddress = await addressOn(s, relayNode, relay, functionNetwork('a'));
  t.regex(relayAddress, /^\d+\.\d+\.\d+\.\d+$/);
  t.regex(await probeIn('fn-b', ['tls', gatewayAddress, '/run/lambda/authority.pem', RELAY_HOST, `a-1 ${secret}`]), /^failed: .*lookup lambda-gateway/);
  t.regex(await probeIn('fn-b', ['dial', `${relayAddress}:${RELAY_PORT}`]), /^failed: .*(unreachable|timeout)/);
  // From a's own network the same address answers: the refusal above is the networks', not a dead relay.
  t.is(await probeIn('fn-a', ['dial', `${relayAddress}:${RELAY_PORT}`]), 'connected');
});

test.serial('an instance on either node reaches no node\'s services: not the swarm\'s ports, not the registry\'s either side', async (t) => {
  const targets = [
    `${nodeAddress(0)}:2377`, // the manager's swarm API
    `${nodeAddress(1)}:2377`, // the worker's
    `${nodeAddress(0)}:7946`, // the nodes' gossip
    `${nodeAddress(1)}:7946`,
    REGISTRY_PULL, // the registry's read side, on the manager's swarm address
  ];
  for (const service of ['fn-a', 'fn-a-manager']) {
    for (const target of targets) {
      t.regex(await probeIn(service, ['dial', target]), /^failed: .*unreachable/, `${service} to ${target}`);
    }
    // The write side listens on the manager's loopback; a task's loopback is its own.
    t.regex(await probeIn(service, ['dial', registryPush]), /^failed: .*refused/);
  }
  // From a plain overlay a task reaches its own node's services: --internal is what keeps the instances out.
  t.is(await probeIn('control-manager', ['dial', REGISTRY_PULL]), 'connected');
  t.is(await probeIn('control-manager', ['dial', `${nodeAddress(0)}:2377`]), 'connected');
  t.is(await probeIn('control', ['dial', `${nodeAddress(1)}:7946`]), 'connected');
});
