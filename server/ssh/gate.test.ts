// The unauthenticated-connection gate: caps in all and per address, releases once, IPv6 counted by /64.
import test from 'ava';
import { addressKey, createLoginGate } from './gate.js';

test('refuses past the per-address cap, and admits again once one is released (once)', (t) => {
  const gate = createLoginGate({ maxUnauthenticated: 10, maxUnauthenticatedPerAddress: 2 });
  const first = gate.admit('10.0.0.1');
  t.truthy(gate.admit('10.0.0.1'));
  t.is(gate.admit('10.0.0.1'), undefined);
  t.truthy(gate.admit('10.0.0.2'), 'another address is not held back');
  first?.();
  first?.();
  t.is(gate.waiting(), 2, 'a release counts once');
  t.truthy(gate.admit('10.0.0.1'));
  t.is(gate.admit('10.0.0.1'), undefined);
});

test('refuses past the total cap whatever the address', (t) => {
  const gate = createLoginGate({ maxUnauthenticated: 3, maxUnauthenticatedPerAddress: 2 });
  t.truthy(gate.admit('10.0.0.1'));
  t.truthy(gate.admit('10.0.0.2'));
  t.truthy(gate.admit('10.0.0.3'));
  t.is(gate.admit('10.0.0.4'), undefined);
  t.is(gate.waiting(), 3);
});

test('IPv6 addresses of one /64 count as one; IPv4-mapped ones as their IPv4 address', (t) => {
  t.is(addressKey('2001:db8:1:2::5'), addressKey('2001:db8:1:2:ffff:1:2:3'));
  t.not(addressKey('2001:db8:1:2::5'), addressKey('2001:db8:1:3::5'));
  t.is(addressKey('::ffff:127.0.0.2'), '127.0.0.2');
  t.is(addressKey('127.0.0.1'), '127.0.0.1');
  t.is(addressKey('::1'), '0:0:0:0::/64');
});
