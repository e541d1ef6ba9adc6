// Unit tests of the link's swarm names and labels: every name a function's link and instances get fits the swarm's
// limits whatever the function's name, a shortened name is never another function's whole one, and every object
// carries the labels it is found by.
import test from 'ava';
import { AUTHORITY_LABEL, LINK_LABEL, RELAY_MAX_CONNECTIONS, RELAY_MAX_PER_SOURCE, functionNetwork, linkFilter, networkCreateArgs, relayName, relayServiceArgs, swarmName } from './link.js';
import { serviceName } from './service.js';

// The swarm's own rules (its control API): services are DNS labels of at most 63 characters, secrets at most 64.
const SERVICE = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;
const SECRET = /^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$/;

const longest = `a${'b'.repeat(61)}c`;

test('short names are kept whole', (t) => {
  t.is(functionNetwork('greet'), 'lambda-fn-greet');
  t.is(relayName('greet'), 'lambda-relay-greet');
  t.is(serviceName('greet', '0123456789ab'), 'lambda-greet-0123456789ab');
});

test('every name of a 63-character function fits the swarm: its network, relay, relay secrets and instance services', (t) => {
  t.is(longest.length, 63);
  const services = [relayName(longest), serviceName(longest, '0123456789ab')];
  for (const name of services) {
    t.true(name.length <= 63, name);
    t.regex(name, SERVICE);
  }
  for (const name of [swarmName('lambda-relay-', longest, '-0123abcd-pem'), functionNetwork(longest)]) {
    t.true(name.length <= 63, name);
    t.regex(name, SECRET);
  }
  t.true(serviceName(longest, '0123456789ab').endsWith('-0123456789ab'), 'the instance id stays whole');
});

test('two long names with the same start get different names, and a shortened name is no function\'s whole one', (t) => {
  const other = `a${'b'.repeat(61)}d`;
  t.not(relayName(longest), relayName(other));
  t.not(functionNetwork(longest), functionNetwork(other));
  // A function's name never holds `_`: whatever a shortened name is, no function is named so that its whole name equals it.
  t.true(relayName(longest).includes('_'));
  t.false(relayName('b'.repeat(50)).includes('_'));
});

test('a function\'s network and relay carry the labels they are found by, the relay its authority\'s fingerprint and both bounds', (t) => {
  const network = networkCreateArgs('greet', 'server-1');
  for (const label of ['lambda.function=greet', 'lambda.server=server-1', `${LINK_LABEL}=network`]) t.true(network.includes(label), label);
  t.is(network.at(-1), 'lambda-fn-greet');
  const relay = relayServiceArgs({ fn: 'greet', serverId: 'server-1', authority: 'f1f2', image: 'lambda/relay:x', socketDir: '/d', certSecret: 'c', keySecret: 'k' });
  for (const label of ['lambda.function=greet', 'lambda.server=server-1', `${LINK_LABEL}=relay`, `${AUTHORITY_LABEL}=f1f2`]) t.true(relay.includes(label), label);
  t.deepEqual(relay.slice(-2), [String(RELAY_MAX_CONNECTIONS), String(RELAY_MAX_PER_SOURCE)]);
  t.deepEqual(linkFilter('server-1', 'relay', 'greet'), { label: ['lambda.server=server-1', `${LINK_LABEL}=relay`, 'lambda.function=greet'] });
});

test('a name that is no function\'s is refused', (t) => {
  t.throws(() => swarmName('lambda-fn-', 'a_b'));
  t.throws(() => functionNetwork('A'));
});
