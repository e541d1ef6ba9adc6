// Unit tests of the per-client and server-wide allowances of wrong keys and the client an address counts as.
import test from 'ava';
import { LambdaError } from '../errors.js';
import { clientOf, createAuthLimiter } from './auth-limit.js';

test('a client gets its allowance, then 429 with the seconds until one wrong key is allowed again', (t) => {
  let clock = 1_000;
  const limiter = createAuthLimiter({ failures: 2, windowMs: 10_000 }, () => clock);
  limiter.check('a');
  limiter.charge('a');
  limiter.check('a');
  limiter.charge('a');
  const error = t.throws(() => limiter.check('a'), { instanceOf: LambdaError });
  t.is(error?.code, 'LAMBDA_ERR_AUTH_RATE_LIMITED');
  t.deepEqual(error?.details, { retryAfterSeconds: 5 });
  t.notThrows(() => limiter.check('b'));
  clock += 5_000;
  t.notThrows(() => limiter.check('a'));
});

test('a refund gives a charge back', (t) => {
  const limiter = createAuthLimiter({ failures: 1, windowMs: 60_000 }, () => 0);
  limiter.charge('a');
  limiter.refund('a');
  t.notThrows(() => limiter.check('a'));
});

test('slow checks: two at once, the third refused until one is released (released once only)', (t) => {
  const limiter = createAuthLimiter({ failures: 10, windowMs: 60_000 });
  const first = limiter.slowSlot();
  limiter.slowSlot();
  t.throws(() => limiter.slowSlot(), { instanceOf: LambdaError });
  first();
  first();
  limiter.slowSlot();
  t.throws(() => limiter.slowSlot(), { instanceOf: LambdaError });
});

test('clients remembered are bounded: the oldest are forgotten first', (t) => {
  const limiter = createAuthLimiter({ failures: 1, windowMs: 60_000, maxClients: 2 }, () => 0);
  for (const client of ['a', 'b', 'c']) limiter.charge(client);
  t.notThrows(() => limiter.check('a'));
  t.throws(() => limiter.check('b'));
  t.throws(() => limiter.check('c'));
});

test('the server-wide budget of slow checks: spent whatever the client, refunded by a right key, back over the window', (t) => {
  let clock = 0;
  const limiter = createAuthLimiter({ failures: 100, windowMs: 10_000, slowBudget: 2 }, () => clock);
  limiter.slowSlot()();
  limiter.slowSlot()();
  const error = t.throws(() => limiter.slowSlot(), { instanceOf: LambdaError });
  t.is(error?.code, 'LAMBDA_ERR_AUTH_RATE_LIMITED');
  t.deepEqual(error?.details, { retryAfterSeconds: 5 });
  limiter.refundSlow();
  limiter.slowSlot()();
  t.throws(() => limiter.slowSlot());
  clock += 5_000;
  t.notThrows(() => limiter.slowSlot()());
});

test('clientOf: every loopback address is one client', (t) => {
  for (const address of ['127.0.0.1', '127.0.3.7', '127.255.255.254', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.9']) t.is(clientOf(address), 'loopback', address);
  t.not(clientOf('128.0.0.1'), 'loopback');
  t.not(clientOf('::2'), 'loopback');
});

test('clientOf: IPv4 as is, IPv4-mapped as IPv4, IPv6 by its /64', (t) => {
  t.is(clientOf('10.0.0.1'), '10.0.0.1');
  t.is(clientOf('::ffff:10.1.2.3'), '10.1.2.3');
  t.is(clientOf('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  t.is(clientOf('2001:db8:1:2::9'), '2001:db8:1:2::/64');
  t.is(clientOf('2001:0db8::1'), '2001:db8:0:0::/64');
  t.is(clientOf('::2'), '0:0:0:0::/64');
  t.is(clientOf('fe80::1%eth0'), 'fe80:0:0:0::/64');
  t.is(clientOf(undefined), 'unknown');
});
