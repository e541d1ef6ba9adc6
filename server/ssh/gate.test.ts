// The unauthenticated-connection gate: a total cap that refuses, a per-address cap that evicts that address's
// oldest waiting connection (one that never identified itself first), releases once, IPv6 counted by /64.
import test from 'ava';
import { addressKey, createLoginGate } from './gate.js';

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

test('refuses past the total cap whatever the address', (t) => {
  const gate = createLoginGate({ maxUnauthenticated: 3, maxUnauthenticatedPerAddress: 2 });
  const evicted: string[] = [];
  t.truthy(connect(gate, '10.0.0.1', 'a', evicted));
  t.truthy(connect(gate, '10.0.0.2', 'b', evicted));
  t.truthy(connect(gate, '10.0.0.3', 'c', evicted));
  t.is(connect(gate, '10.0.0.4', 'd', evicted), undefined);
  t.is(gate.waiting(), 3);
  t.deepEqual(evicted, []);
});

test('at both caps a connection from a full address replaces that address\'s oldest', (t) => {
  const gate = createLoginGate({ maxUnauthenticated: 2, maxUnauthenticatedPerAddress: 2 });
  const evicted: string[] = [];
  connect(gate, '10.0.0.1', 'a', evicted);
  connect(gate, '10.0.0.1', 'b', evicted);
  t.truthy(connect(gate, '10.0.0.1', 'c', evicted));
  t.deepEqual(evicted, ['a']);
  t.is(connect(gate, '10.0.0.2', 'd', evicted), undefined, 'another address still meets the total cap');
});

test('IPv6 addresses of one /64 count as one; IPv4-mapped ones as their IPv4 address', (t) => {
  t.is(addressKey('2001:db8:1:2::5'), addressKey('2001:db8:1:2:ffff:1:2:3'));
  t.not(addressKey('2001:db8:1:2::5'), addressKey('2001:db8:1:3::5'));
  t.is(addressKey('::ffff:127.0.0.2'), '127.0.0.2');
  t.is(addressKey('127.0.0.1'), '127.0.0.1');
  t.is(addressKey('::1'), '0:0:0:0::/64');
});
