// Unit tests of the releases, env and version-history SQL (migration 3) on real SQLite.
import anyTest, { type TestFn } from 'ava';
import { openStore } from './sqlite.js';
import type { Store } from './types.js';

const test = anyTest as TestFn<{ store: Store }>;
const sha = (n: number): string => n.toString(16).padStart(40, 'a');
const release = (fn: string, to: number) => ({ fn, kind: 'deploy' as const, fromVersion: to - 1 || null, toVersion: to, who: 'me', detail: '' });

test.beforeEach((t) => {
  t.context.store = openStore(':memory:');
  for (const n of [1, 2, 3]) t.context.store.versions.publish({ fn: 'greet', sha: sha(n), image: `img${n}`, manifest: '{}' });
});

test.afterEach.always((t) => t.context.store.close());

test('versions newest first; setLive switches and records the release in one go', (t) => {
  const { store } = t.context;
  t.deepEqual(store.lifecycle.versions('greet').map((v) => v.number), [3, 2, 1]);
  const made = store.lifecycle.setLive('greet', 1, { fn: 'greet', kind: 'rollback', fromVersion: 3, toVersion: 1, who: 'ci', detail: 'x' });
  t.like(made, { fn: 'greet', kind: 'rollback', fromVersion: 3, toVersion: 1, who: 'ci', detail: 'x' });
  t.is(store.versions.live('greet')?.number, 1);
  // A version that does not exist changes nothing and records nothing.
  t.throws(() => store.lifecycle.setLive('greet', 9, { fn: 'greet', kind: 'rollback', fromVersion: 1, toVersion: 9, who: 'ci', detail: '' }));
  t.is(store.versions.live('greet')?.number, 1);
  t.is(store.releases.list('greet').length, 1);
});

test('releases are listed newest first, bounded, per function; a kind outside the three is refused', (t) => {
  const { store } = t.context;
  for (const n of [1, 2, 3]) store.releases.record(release('greet', n));
  t.deepEqual(store.releases.list('greet').map((r) => r.toVersion), [3, 2, 1]);
  t.deepEqual(store.releases.list('greet', 2).map((r) => r.toVersion), [3, 2]);
  t.deepEqual(store.releases.list('other'), []);
  t.throws(() => store.releases.record({ ...release('greet', 1), kind: 'oops' as 'deploy' }), { any: true, message: /CHECK constraint/ });
  // Releases belong to a function that exists.
  t.throws(() => store.releases.record(release('nobody', 1)), { any: true, message: /FOREIGN KEY/ });
});

test('env is replaced as a whole, with its release, in one transaction', (t) => {
  const { store } = t.context;
  t.deepEqual(store.env.get('greet'), {});
  store.env.replace('greet', { B: '2', A: '1' }, release('greet', 3));
  t.deepEqual(store.env.get('greet'), { A: '1', B: '2' });
  t.is(store.releases.list('greet').length, 1);
  store.env.replace('greet', { A: 'x' });
  t.deepEqual(store.env.get('greet'), { A: 'x' });
  t.is(store.releases.list('greet').length, 1);
  // A failing release rolls the env back too.
  t.throws(() => store.env.replace('greet', { C: '3' }, { ...release('greet', 1), kind: 'bad' as 'env' }), { any: true });
  t.deepEqual(store.env.get('greet'), { A: 'x' });
});

test('removeFunction takes its versions, releases and env with it, and nothing of another function', (t) => {
  const { store } = t.context;
  store.versions.publish({ fn: 'other', sha: sha(9), image: 'o', manifest: '{}' });
  store.env.replace('greet', { A: '1' }, release('greet', 3));
  store.env.replace('other', { B: '1' }, release('other', 1));
  t.true(store.lifecycle.removeFunction('greet'));
  t.false(store.lifecycle.removeFunction('greet'));
  t.is(store.functions.get('greet'), undefined);
  t.deepEqual(store.lifecycle.versions('greet'), []);
  t.deepEqual(store.env.get('greet'), {});
  t.deepEqual(store.releases.list('greet'), []);
  t.deepEqual(store.env.get('other'), { B: '1' });
  t.is(store.versions.live('other')?.number, 1);
});
