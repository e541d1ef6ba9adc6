// Unit tests of the lifecycle verbs (rollback, env, delete, versions, pruning) on real SQLite and the real pool, with a
// fake engine, builder and repository that end where the engine and git would.
import anyTest, { type TestFn } from 'ava';
import type { BuildInput, Builder } from '../builder/build.js';
import { LambdaError } from '../errors.js';
import { InstanceClients } from '../instances/requests/client.js';
import { createPool } from '../instances/pool/pool.js';
import type { Instance, InstanceSpec, Engine } from '../instances/engine.js';
import { openStore } from '../store/sqlite.js';
import type { Store, VersionRecord } from '../store/types.js';
import { deleteFunction } from './delete.js';
import { deploy } from './deploy.js';
import type { CommitSource, Deps, FunctionRepos } from './deps.js';
import { changeEnv, getEnv } from './env.js';
import { lockFunction } from './lock.js';
import type { ProgressEvent } from '../logs/progress.js';
import { prunable, pruneImages } from './prune.js';
import { listReleases } from './releases.js';
import { rollback } from './rollback.js';
import { listVersions, resolveVersion } from './versions.js';
import { noLogs, testDeps } from '../../test/helpers/deps.js';

class FakeEngine implements Engine {
  readonly started: InstanceSpec[] = [];
  readonly stopped: string[] = [];
  readonly images = new Set<string>();
  /** Images that refuse removal (a container still uses them). */
  readonly busy = new Set<string>();
  failStart = false;
  /** Functions forgotten, with how many instances had stopped then. */
  readonly forgotten: Array<[string, number]> = [];
  async forgetFunction(fn: string) {
    this.forgotten.push([fn, this.stopped.length]);
  }
  async imageExists(tag: string) {
    return this.images.has(tag);
  }
  async removeImage(tag: string) {
    if (this.busy.has(tag)) throw new Error('conflict: image is being used by a running container');
    this.images.delete(tag);
  }
  async freeze() {}
  async thaw() {}
  async endedAt() {
    return undefined;
  }
  async importImage() {}
  async buildImage() {}
  async start(spec: InstanceSpec): Promise<Instance> {
    this.started.push(spec);
    if (this.failStart) throw new LambdaError('LAMBDA_ERR_HEALTHCHECK_FAILED', { detail: 'x' });
    return { id: `instance-${this.started.length}`, fn: spec.fn, sha: spec.sha, socketPath: `/nonexistent/${this.started.length}.sock` };
  }
  async stop(instance: Pick<Instance, 'id'>) {
    this.stopped.push(instance.id);
  }
  async listManaged() {
    return [];
  }
  async healthy() {
    return true;
  }
}

class FakeBuilder implements Builder {
  readonly builds: BuildInput[] = [];
  constructor(private readonly engine: FakeEngine) {}
  runtimes() {
    return ['node20'];
  }
  async build(input: BuildInput) {
    this.builds.push(input);
    await input.exportTo('/nonexistent');
    this.engine.images.add(input.tag);
  }
}

class FakeRepos implements FunctionRepos {
  readonly exported: string[] = [];
  readonly kept: string[] = [];
  readonly removed: string[] = [];
  source(name: string, sha: string): CommitSource {
    return { sha, readFile: async () => undefined, exportTo: async () => void this.exported.push(`${name}@${sha}`) };
  }
  async describe(_name: string, shas: string[]) {
    return new Map(shas.map((sha) => [sha, { message: `commit ${sha.slice(0, 4)}`, author: 'Ann <ann@example.com>' }]));
  }
  async keep(name: string, versions: { number: number; sha: string }[]) {
    for (const version of versions) this.kept.push(`${name}:v${version.number}`);
  }
  async remove(name: string) {
    this.removed.push(name);
  }
}

interface Context {
  name: string;
  store: Store;
  engine: FakeEngine;
  builder: FakeBuilder;
  repos: FakeRepos;
  deps: Deps;
  events: ProgressEvent[];
  deleted: string[];
}

const test = anyTest as TestFn<Context>;
let seq = 0;
const sha = (n: number): string => `${n}`.repeat(40);
const MANIFEST = 'runtime: node20\nhandler: index.handler\nenv: { GREETING: Hello, KEEP: yes }\n';

test.beforeEach((t) => {
  const store = openStore(':memory:');
  const engine = new FakeEngine();
  const builder = new FakeBuilder(engine);
  const repos = new FakeRepos();
  const deleted: string[] = [];
  t.context = {
    name: `lc-${++seq}`,
    store,
    engine: engine,
    builder,
    repos,
    events: [],
    deleted,
    deps: testDeps({
      store,
      engine,
      builder,
      repos,
      onDelete: [async (name) => void deleted.push(name)],
      pool: createPool(engine, new InstanceClients(), () => {}),
    }),
  };
});

test.afterEach.always(async (t) => {
  await t.context.deps.pool.shutdown();
  t.context.store.close();
});

async function deployN(t: { context: Context }, count: number): Promise<void> {
  for (let n = 1; n <= count; n++) {
    const source: CommitSource = { sha: sha(n), readFile: async () => MANIFEST, exportTo: async () => {} };
    await deploy(t.context.deps, { name: t.context.name, source, who: 'tester' }, () => {});
  }
}

const record = (t: { context: Context }) => (event: ProgressEvent) => t.context.events.push(event);

test('rollback switches to the version before the live one without a build, and records who did it', async (t) => {
  const { name, deps, builder, engine: engine, store } = t.context;
  await deployN(t, 3);
  const builds = builder.builds.length;
  const result = await rollback(deps, { name, who: 'token ci (abcd)' }, record(t));
  t.like(result, { from: 3, to: 2, sha: sha(2), rebuilt: false });
  t.is(builder.builds.length, builds);
  t.is(store.versions.live(name)?.number, 2);
  t.is(deps.pool.spec(name)?.version, 2);
  t.like(engine.started.at(-1), { version: 2, sha: sha(2), env: { GREETING: 'Hello', KEEP: 'yes' } });
  t.like(listReleases(deps, { name })[0], { kind: 'rollback', fromVersion: 3, toVersion: 2, who: 'token ci (abcd)' });
  t.deepEqual(listReleases(deps, { name }).map((r) => [r.kind, r.fromVersion, r.toVersion, r.who]), [
    ['rollback', 3, 2, 'token ci (abcd)'],
    ['deploy', 2, 3, 'tester'],
    ['deploy', 1, 2, 'tester'],
    ['deploy', null, 1, 'tester'],
  ]);
  // Again: v1; then nothing is before it.
  t.like(await rollback(deps, { name, who: 'x' }, () => {}), { from: 2, to: 1 });
  await t.throwsAsync(rollback(deps, { name, who: 'x' }, () => {}), { instanceOf: LambdaError, message: /has no version before v1/ });
  await t.throwsAsync(rollback(deps, { name, to: 'v1', who: 'x' }, () => {}), { message: /v1 of ".*" is already live/ });
});

test('rollback to a version whose image is gone rebuilds it from its commit, saying so', async (t) => {
  const { name, deps, builder, engine: engine, repos } = t.context;
  await deployN(t, 2);
  engine.images.delete(`lambda-fn/${name}:${sha(1).slice(0, 12)}`);
  const result = await rollback(deps, { name, to: 'v1', who: 'x' }, record(t));
  t.true(result.rebuilt);
  t.like(builder.builds.at(-1), { sha: sha(1), tag: `lambda-fn/${name}:${sha(1).slice(0, 12)}`, runtime: 'node20' });
  t.deepEqual(repos.exported, [`${name}@${sha(1)}`]);
  t.true(t.context.events.some((e) => e.type === 'warn' && /was pruned .*rebuilding it from commit 111111111111/.test(e.text)));
  t.regex(listReleases(deps, { name })[0]?.detail ?? '', /rebuilt from its commit/);
});

test('a rollback whose instance fails leaves the live version and the store as they were', async (t) => {
  const { name, deps, engine: engine, store } = t.context;
  await deployN(t, 2);
  engine.failStart = true;
  await t.throwsAsync(rollback(deps, { name, to: 'v1', who: 'x' }, () => {}), { message: /did not become healthy/ });
  t.is(store.versions.live(name)?.number, 2);
  t.is(deps.pool.spec(name)?.version, 2);
  t.is(listReleases(deps, { name })[0]?.kind, 'deploy');
});

test('one change at a time: a rollback during a deploy, an env change during a rollback are refused', async (t) => {
  const { name, deps } = t.context;
  await deployN(t, 2);
  const unlock = lockFunction(name, 'deploy');
  await t.throwsAsync(rollback(deps, { name, who: 'x' }, () => {}), { message: /already being deployed/ });
  unlock();
  const held = lockFunction(name, 'rollback');
  await t.throwsAsync(changeEnv(deps, { name, set: { A: '1' }, who: 'x' }), { message: /busy with a rollback/ });
  await t.throwsAsync(deleteFunction(deps, { name, who: 'x' }), { instanceOf: LambdaError, message: /busy with a rollback/ });
  held();
  t.like(await rollback(deps, { name, who: 'x' }, () => {}), { to: 1 });
});

test('env set starts the live version again with the merged env; a failed start stores nothing', async (t) => {
  const { name, deps, engine: engine, store } = t.context;
  await deployN(t, 1);
  const result = await changeEnv(deps, { name, set: { GREETING: 'Bonjour', TOKEN: 'secret' }, who: 'x' });
  t.deepEqual(result.keys, ['GREETING', 'TOKEN']);
  t.like(result.release, { kind: 'env', fromVersion: 1, toVersion: 1, detail: 'set GREETING, TOKEN' });
  t.deepEqual(engine.started.at(-1)?.env, { GREETING: 'Bonjour', KEEP: 'yes', TOKEN: 'secret' });
  t.deepEqual(deps.pool.spec(name)?.env, { GREETING: 'Bonjour', KEEP: 'yes', TOKEN: 'secret' });
  t.deepEqual(getEnv(deps, { name }), { name, vars: { GREETING: '••••••', TOKEN: '••••••' }, manifest: { GREETING: 'Hello', KEEP: 'yes' }, revealed: false });

  engine.failStart = true;
  await t.throwsAsync(changeEnv(deps, { name, unset: ['TOKEN'], who: 'x' }));
  t.deepEqual(store.env.get(name), { GREETING: 'Bonjour', TOKEN: 'secret' });
  engine.failStart = false;

  await changeEnv(deps, { name, unset: ['GREETING'], who: 'x' });
  t.deepEqual(deps.pool.spec(name)?.env, { GREETING: 'Hello', KEEP: 'yes', TOKEN: 'secret' });
  // A later deploy and a rollback keep it.
  await deployN(t, 2);
  t.deepEqual(deps.pool.spec(name)?.env, { GREETING: 'Hello', KEEP: 'yes', TOKEN: 'secret' });
});

test('env unset of a variable never set changes nothing: no release, no new instance, and says which', async (t) => {
  const { name, deps, engine, store } = t.context;
  await deployN(t, 1);
  await changeEnv(deps, { name, set: { A: '1' }, who: 'x' });
  const started = engine.started.length;
  const releases = store.releases.list(name).length;
  const nothing = await changeEnv(deps, { name, unset: ['NOPE'], who: 'x' });
  t.like(nothing, { release: null, changed: false, notSet: ['NOPE'], keys: ['A'] });
  t.is(engine.started.length, started);
  t.is(store.releases.list(name).length, releases);
  // With one that is set: only that one makes the release, and the other is still reported.
  const some = await changeEnv(deps, { name, unset: ['A', 'NOPE'], who: 'x' });
  t.like(some, { changed: true, notSet: ['NOPE'], keys: [] });
  t.like(some.release, { detail: 'unset A' });
  t.is(engine.started.length, started + 1);
});

const reserved = ['LAMBDA_X', 'lambda_x', 'AWS_REGION', 'NODE_OPTIONS', 'PATH', 'LD_PRELOAD', 'PYTHONPATH', 'PYTHONHOME', '1A', 'A-B', '', 'A B', 'X'.repeat(200), '__proto__'];
for (const key of reserved) {
  test(`env set refuses the name ${JSON.stringify(key.slice(0, 20))}`, async (t) => {
    await deployN(t, 1);
    const error = await t.throwsAsync(changeEnv(t.context.deps, { name: t.context.name, set: { [key]: 'x' }, who: 'x' }), { instanceOf: LambdaError });
    t.is(error?.code, 'LAMBDA_ERR_ENV_RESERVED');
    t.deepEqual(t.context.store.env.get(t.context.name), {});
    t.is(t.context.engine.started.length, 1);
  });
}

test('delete stops the instances and removes versions, images, env, releases, the repository, then runs the onDelete hooks', async (t) => {
  const { name, deps, engine: engine, store, repos, deleted } = t.context;
  await deployN(t, 2);
  await changeEnv(deps, { name, set: { A: '1' }, who: 'x' });
  const result = await deleteFunction(deps, { name, who: 'x' });
  t.deepEqual(result, { name, versions: 2, images: 2 });
  t.is(deps.pool.spec(name), undefined);
  await t.throwsAsync(deps.pool.acquire(name), { message: /has no live version/ });
  t.is(store.functions.get(name), undefined);
  t.deepEqual(store.lifecycle.versions(name), []);
  t.deepEqual(store.env.get(name), {});
  t.deepEqual(store.releases.list(name), []);
  t.is(engine.images.size, 0);
  t.deepEqual(repos.removed, [name]);
  t.deepEqual(deleted, [name]);
  t.true(engine.stopped.length >= 1);
  await t.throwsAsync(deleteFunction(deps, { name, who: 'x' }), { message: /does not exist/ });
});

test('delete forgets what the engine keeps for the function (a swarm\'s link) once its instances are stopped', async (t) => {
  const { name, deps, engine } = t.context;
  await deployN(t, 1);
  t.deepEqual(engine.forgotten, []);
  await deleteFunction(deps, { name, who: 'x' });
  t.deepEqual(engine.forgotten, [[name, 1]]);
});

test('a failed first deploy forgets what the engine made for the function; a failed deploy of one that exists does not', async (t) => {
  const { name, deps, engine } = t.context;
  engine.failStart = true;
  const source = (n: number): CommitSource => ({ sha: sha(n), readFile: async () => MANIFEST, exportTo: async () => {} });
  await t.throwsAsync(deploy(deps, { name, source: source(1) }, () => {}), { code: 'LAMBDA_ERR_HEALTHCHECK_FAILED' });
  t.deepEqual(engine.forgotten.map(([fn]) => fn), [name]);
  engine.failStart = false;
  await deploy(deps, { name, source: source(1) }, () => {});
  engine.failStart = true;
  await t.throwsAsync(deploy(deps, { name, source: source(2) }, () => {}));
  t.deepEqual(engine.forgotten.map(([fn]) => fn), [name], 'the live version still uses its link');
});

test('delete tries again in the background to remove an image a container still used, and gives up after its tries', async (t) => {
  const { name, engine, store } = t.context;
  const lines: string[] = [];
  const deps: Deps = { ...t.context.deps, log: (line) => void lines.push(line) };
  await deployN(t, 2);
  const [first, second] = store.lifecycle.versions(name).map((version) => version.image).sort();
  engine.busy.add(first);
  engine.busy.add(second);
  const result = await deleteFunction(deps, { name, who: 'x' }, { tries: 3, everyMs: 5 });
  t.deepEqual(result, { name, versions: 2, images: 0 });
  t.true(lines.some((line) => /Deleted .* \(2 versions, 0 images, 2 still in use\)/.test(line)), lines.join('\n'));
  // The container using the first goes away; the second stays in use.
  engine.busy.delete(first);
  for (let turn = 0; turn < 200 && !lines.some((line) => line.includes('gave up')); turn++) await new Promise((resolve) => setTimeout(resolve, 5));
  t.false(engine.images.has(first), 'removed once nothing used it');
  t.true(engine.images.has(second));
  t.true(lines.some((line) => line.includes(`Removed image ${first} of deleted function ${name}`)));
  t.is(lines.filter((line) => line.includes(`gave up removing image ${second}`)).length, 1, 'a bounded number of tries');
});

test('a background removal leaves the image alone once the same name was deployed again on it', async (t) => {
  const { name, engine, store } = t.context;
  await deployN(t, 1);
  const [image] = store.lifecycle.versions(name).map((version) => version.image);
  engine.busy.add(image);
  await deleteFunction(t.context.deps, { name, who: 'x' }, { tries: 3, everyMs: 20 });
  await deployN(t, 1);
  engine.busy.delete(image);
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.true(engine.images.has(image), 'the new function\'s image stays');
});

test('delete always removes the repository and the kept logs: a Deps cannot leave either out', async (t) => {
  const { name, repos } = t.context;
  const removedLogs: string[] = [];
  const deps: Deps = { ...t.context.deps, logs: { ...noLogs, remove: (fn) => void removedLogs.push(fn) } };
  // A Deps without repositories (or logs) does not type-check, so no caller can build one that makes delete skip them.
  // @ts-expect-error repos is required
  const withoutRepos: Deps = { ...deps, repos: undefined };
  t.is(typeof withoutRepos.repos, 'undefined');
  await deployN(t, 1);
  await deleteFunction(deps, { name, who: 'x' });
  t.deepEqual(repos.removed, [name]);
  t.deepEqual(removedLogs, [name]);
});

test('versions lists newest first with commit, live marker and whether the image is kept', async (t) => {
  const { name, deps, engine: engine } = t.context;
  await deployN(t, 3);
  engine.images.delete(`lambda-fn/${name}:${sha(1).slice(0, 12)}`);
  const listed = await listVersions(deps, { name });
  t.deepEqual(listed.map((v) => [v.version, v.live, v.imageKept, v.message, v.author]), [
    [3, true, true, 'commit 3333', 'Ann <ann@example.com>'],
    [2, false, true, 'commit 2222', 'Ann <ann@example.com>'],
    [1, false, false, 'commit 1111', 'Ann <ann@example.com>'],
  ]);
  await t.throwsAsync(listVersions(deps, { name: 'nope' }), { message: /does not exist/ });
  await t.throwsAsync(listVersions(deps, { name: '../etc' }), { message: /invalid function name/ });
});

test('resolveVersion takes v<N>, <N> or a unique SHA prefix', async (t) => {
  const { name, deps } = t.context;
  await deployN(t, 2);
  t.is(resolveVersion(deps, name, 'v1').number, 1);
  t.is(resolveVersion(deps, name, 'V2').number, 2);
  t.is(resolveVersion(deps, name, '2').number, 2);
  t.is(resolveVersion(deps, name, '2222').number, 2);
  t.is(resolveVersion(deps, name, sha(1)).number, 1);
  for (const bad of ['v0x', '../x', 'abc', '', 'v1 ', '12345678901234567890123456789012345678901']) {
    if (bad === 'v1 ') continue;
    t.throws(() => resolveVersion(deps, name, bad), { instanceOf: LambdaError, message: /version: expected/ }, bad);
  }
  t.throws(() => resolveVersion(deps, name, 'v7'), { message: /has no version v7/ });
  t.throws(() => resolveVersion(deps, name, 'abcd'), { message: /has no version abcd/ });
});

test('pruning keeps the newest K and the live one; an image still in use is left for the next pass', async (t) => {
  const { name, deps, engine: engine, repos } = t.context;
  deps.keepImages = 2;
  await deployN(t, 4);
  await rollback(deps, { name, to: 'v1', who: 'x' }, () => {});
  const tag = (n: number) => `lambda-fn/${name}:${sha(n).slice(0, 12)}`;
  engine.busy.add(tag(2));
  const first = await pruneImages(deps, name);
  t.deepEqual(first, { removed: [], pending: [tag(2)] });
  t.true(engine.images.has(tag(1)) && engine.images.has(tag(3)) && engine.images.has(tag(4)));
  t.true(repos.kept.includes(`${name}:v1`));
  engine.busy.clear();
  t.deepEqual(await pruneImages(deps, name), { removed: [tag(2)], pending: [] });
  const versions = (numbers: number[]) => numbers.map((number) => ({ number }) as VersionRecord);
  t.deepEqual(prunable(versions([1, 2, 3, 4, 5]), 5, 2).map((v) => v.number), [3, 2, 1]);
  t.deepEqual(prunable(versions([1, 2, 3, 4, 5]), 1, 2).map((v) => v.number), [3, 2]);
  t.deepEqual(prunable(versions([1, 2]), 2, 10), []);
  t.deepEqual(prunable(versions([1, 2, 3]), 3, 0).map((v) => v.number), [2, 1]);
});
