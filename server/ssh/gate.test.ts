// The unauthenticated-connection gate: a per-client cap that evicts that client's oldest
// waiting connection (one that never identified itself first), a total cap where the client holding the
// most makes room, releases once, IPv6 counted by /64 and every loopback address as one.
import test from 'ava';
import { createLoginGate } from './gate.js';
import { clientOf } from '../access/auth-limit.js';

/** Admits a connection from `address`, noting in `evicted` when the gate closes it. */
function connect(gate: ReturnType<typeof createLoginGate>, address: string, name: string, evicted: string[]) {
  return gate.admit(address, () => evicted.push(name));
}

test('at an address cap the oldest waiting connection from that address makes room; other addresses are untouched', (t) => {
  const gate = createLoginGate({ maxUnauthenticated: 10, maxUnauthenticatedPerAddress: 2 });
  const evicted: string[] = [];
  const first = connect(gate, '10.0.0.1', 'first', evicted);
  connect(gate, '10.0.0.2', 'other', evicted);
  connect(gate, '10.0.0.1', 'second', evicted);
  t.truthy(connect(gate, '10.0.0.1', 'third', evicted), 'the newest is admitted');
  t.deepEqual(evicted, ['first']);
  t.is(gate.waiting(), 3);
  first?.release();
  t.is(gate.waiting(), 3, 'an evicted connection released by the gate is not counted off twice when it closes');
  connect(gate, '10.0.0.1', 'fourth', evicted);
  t.deepEqual(evicted, ['first', 'second']);
});

test('a connection that never identified itself is evicted before an older one that did', (t) => {
  const gate = createLoginGate({ maxUnauthenticated: 10, maxUnauthenticatedPerAddress: 2 });
  const evicted: string[] = [];
  connect(gate, '10.0.0.1', 'talking', evicted)?.identified();
  connect(gate, '10.0.0.1', 'silent', evicted);
  connect(gate, '10.0.0.1', 'new', evicted);
  t.deepEqual(evicted, ['silent']);
});

test('twelve idle connections from one address do not lock the next one out', (t) => {
  const gate = createLoginGate({ maxUnauthenticated: 100, maxUnauthenticatedPerAddress: 10 });
  const evicted: string[] = [];
  for (let i = 0; i < 12; i++) connect(gate, '127.0.0.1', `idle${i}`, evicted);
  t.truthy(connect(gate, '127.0.0.1', 'client', evicted));
  t.deepEqual(evicted, ['idle0', 'idle1', 'idle2']);
  t.is(gate.waiting(), 10);
});

test('a release counts once, and frees its place', (t) => {
  const gate = createLoginGate({ maxUnauthenticated: 10, maxUnauthenticatedPerAddress: 2 });
  const evicted: string[] = [];
  const first = connect(gate, '10.0.0.1', 'a', evicted);
  connect(gate, '10.0.0.1', 'b', evicted);
  first?.release();
  first?.release();
  t.is(gate.waiting(), 1);
  connect(gate, '10.0.0.1', 'c', evicted);
  t.deepEqual(evicted, [], 'a free place needs no eviction');
});

test('at the total cap a new client is admitted and the client holding the most gives up its oldest', (t) => {
  const gate = createLoginGate({ maxUnauthenticated: 4, maxUnauthenticatedPerAddress: 3 });
  const evicted: string[] = [];
  connect(gate, '10.0.0.1', 'a1', evicted);
  connect(gate, '10.0.0.2', 'b1', evicted);
  connect(gate, '10.0.0.2', 'b2', evicted);
  connect(gate, '10.0.0.1', 'a2', evicted);
  t.truthy(connect(gate, '10.0.0.3', 'c1', evicted), 'a client over the total cap is let in');
  t.deepEqual(evicted, ['a1'], 'of two equal holders, the one waiting longest; its oldest');
  t.truthy(connect(gate, '10.0.0.4', 'd1', evicted));
  t.deepEqual(evicted, ['a1', 'b1'], 'then the one holding the most');
  t.is(gate.waiting(), 4);
});

test('at the total cap a holder\'s connection that never identified itself goes before its older one that did', (t) => {
  const gate = createLoginGate({ maxUnauthenticated: 3, maxUnauthenticatedPerAddress: 3 });
  const evicted: string[] = [];
  connect(gate, '10.0.0.1', 'talking', evicted)?.identified();
  connect(gate, '10.0.0.1', 'silent', evicted);
  connect(gate, '10.0.0.2', 'other', evicted);
  connect(gate, '10.0.0.3', 'new', evicted);
  t.deepEqual(evicted, ['silent']);
});

test('ten addresses filling the total cap do not lock an eleventh client out, again and again', (t) => {
  const gate = createLoginGate({ maxUnauthenticated: 100, maxUnauthenticatedPerAddress: 10 });
  const evicted: string[] = [];
  for (let i = 0; i < 100; i++) connect(gate, `10.0.1.${i % 10}`, `flood${i}`, evicted)?.identified();
  t.is(gate.waiting(), 100);
  const client = connect(gate, '10.0.2.1', 'client', evicted);
  t.truthy(client);
  t.deepEqual(evicted, ['flood0']);
  // The flood renewing its sockets takes room from itself, never from the one client holding a single connection.
  for (let i = 0; i < 200; i++) connect(gate, `10.0.1.${i % 10}`, `again${i}`, evicted)?.identified();
  t.false(evicted.includes('client'));
  t.is(gate.waiting(), 100);
});

test('every loopback address counts as one client, so loopback sockets hold at most one client\'s share', (t) => {
  const gate = createLoginGate({ maxUnauthenticated: 100, maxUnauthenticatedPerAddress: 10 });
  const evicted: string[] = [];
  for (let i = 0; i < 100; i++) connect(gate, `127.0.0.${2 + (i % 10)}`, `flood${i}`, evicted)?.identified();
  t.is(gate.waiting(), 10);
  t.truthy(connect(gate, '127.0.0.1', 'client', evicted));
  t.truthy(connect(gate, '::ffff:127.0.0.1', 'mapped', evicted));
  t.truthy(connect(gate, '::1', 'six', evicted));
  t.is(gate.waiting(), 10);
});

test('a cap of 0 refuses', (t) => {
  const gate = createLoginGate({ maxUnauthenticated: 0, maxUnauthenticatedPerAddress: 2 });
  t.is(connect(gate, '10.0.0.1', 'a', []), undefined);
  t.is(gate.waiting(), 0);
});

test('IPv6 addresses of one /64 count as one; IPv4-mapped ones as their IPv4 address; loopback as one', (t) => {
  t.is(clientOf('2001:db8:1:2::5'), clientOf('2001:db8:1:2:ffff:1:2:3'));
  t.not(clientOf('2001:db8:1:2::5'), clientOf('2001:db8:1:3::5'));
  t.is(clientOf('::ffff:10.1.2.3'), '10.1.2.3');
  t.is(clientOf('10.1.2.3'), '10.1.2.3');
  t.not(clientOf('10.1.2.3'), clientOf('10.1.2.4'));
  for (const loopback of ['127.0.0.1', '127.0.0.2', '127.255.1.9', '::ffff:127.0.0.2', '::1']) t.is(clientOf(loopback), clientOf('127.0.0.1'), loopback);
  t.is(clientOf(undefined), clientOf(''));
});
