// Unit tests of the deploy verb: real SQLite and pool, a fake engine and builder that end where the engine would.
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import type { BuildInput, Builder } from '../builder/build.js';
import { LambdaError } from '../errors.js';
import { InstanceClients } from '../instances/requests/client.js';
import { createPool } from '../instances/pool/pool.js';
import type { Instance, InstanceSpec, Engine } from '../instances/engine.js';
import { openStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { deploy, type Deployment } from './deploy.js';
import type { CommitSource, Deps } from './deps.js';
import type { ProgressEvent } from '../logs/progress.js';
import { testDeps } from '../../test/helpers/deps.js';
import { createPrometheus } from '../metrics/prometheus.js';

/** A runtime that records what it was asked; `failStart` makes the next start fail its health check. */
class FakeEngine implements Engine {
  readonly started: InstanceSpec[] = [];
  readonly stopped: string[] = [];
  readonly images = new Set<string>();
  failStart = false;
  /** How long the next starts' boots say they waited for a turn. */
  bootWaitMs?: number;

  async imageExists(tag: string): Promise<boolean> {
    return this.images.has(tag);
  }
  async removeImage(tag: string): Promise<void> {
    this.images.delete(tag);
  }
  async freeze(): Promise<void> {}
  async thaw(): Promise<void> {}
  async endedAt(): Promise<number | undefined> {
    return undefined;
  }
  async importImage(): Promise<void> {
    throw new Error('not used by deploy');
  }
  async buildImage(): Promise<void> {
    throw new Error('not used by deploy: the builder is faked');
  }
  async start(spec: InstanceSpec): Promise<Instance> {
    this.started.push(spec);
    if (this.failStart) {
      throw new LambdaError('LAMBDA_ERR_HEALTHCHECK_FAILED', { detail: 'x' }, { logs: ['boom', 'SyntaxError: Unexpected token'] });
    }
    return { id: `instance-${this.started.length}`, fn: spec.fn, sha: spec.sha, socketPath: `/nonexistent/${this.started.length}.sock`, ...(this.bootWaitMs === undefined ? {} : { bootWaitMs: this.bootWaitMs }) };
  }
  async stop(instance: Pick<Instance, 'id'>): Promise<void> {
    this.stopped.push(instance.id);
  }
  async listManaged() {
    return [];
  }
  async healthy(): Promise<boolean> {
    return true;
  }
}

/** A builder for node20 only; `fail` makes the next build fail. A successful build makes the image exist. */
class FakeBuilder implements Builder {
  readonly builds: BuildInput[] = [];
  fail = false;
  constructor(private readonly engine: FakeEngine) {}

  runtimes(): string[] {
    return ['node20'];
  }
  async build(input: BuildInput, onLine: (line: string) => void): Promise<void> {
    this.builds.push(input);
    onLine('Step 1/2 : FROM lambda-base/node20');
    if (this.fail) throw new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail: 'npm ci exited with 1' });
    onLine('Successfully built');
    this.engine.images.add(input.tag);
  }
}

interface Context {
  /** Unique per test: deploy's in-progress lock is per function name and shared by the whole process. */
  name: string;
  store: Store;
  engine: FakeEngine;
  builder: FakeBuilder;
  deps: Deps;
  events: ProgressEvent[];
}

const test = anyTest as TestFn<Context>;
let seq = 0;

test.beforeEach((t) => {
  const store = openStore(':memory:');
  const engine = new FakeEngine();
  const builder = new FakeBuilder(engine);
  t.context = {
    name: `fn-${++seq}`,
    store,
    engine: engine,
    builder,
    events: [],
    // Deploy never dispatches: testDeps' dispatch throws if it did.
    deps: testDeps({ store, engine, builder, pool: createPool(engine, new InstanceClients(), () => {}) }),
  };
});

test.afterEach.always(async (t) => {
  await t.context.deps.pool.shutdown();
  t.context.store.close();
});

const MANIFEST = 'runtime: node20\nhandler: index.handler\ntimeout: 5s\nenv: { GREETING: Hello }\n';
const sha = (n: number): string => `${n}`.repeat(40);

function source(commit: string, manifest: string | undefined = MANIFEST): CommitSource {
  return {
    sha: commit,
    readFile: async (file) => (file === 'lambda.yaml' ? manifest : undefined),
    exportTo: async () => {},
  };
}

function run(t: ExecutionContext<Context>, name: string, commit: string, manifest?: string): Promise<Deployment> {
  return deploy(t.context.deps, { name, source: source(commit, manifest) }, (event) => t.context.events.push(event));
}

/** Waits (bounded by turns, not by time) until `check` holds: retiring an instance runs in the background. */
async function eventually(check: () => boolean): Promise<boolean> {
  for (let turn = 0; turn < 200 && !check(); turn++) await new Promise((resolve) => setImmediate(resolve));
  return check();
}

test('a first deploy builds, starts and makes version 1 live', async (t) => {
  const { name, store, engine: engine, builder, deps, events } = t.context;
  const result = await run(t, name, sha(1));
  const image = `lambda-fn/${name}:${sha(1).slice(0, 12)}`;
  t.deepEqual(result, { name, version: 1, sha: sha(1), image, url: `http://${name}.localhost:8080` });

  t.like(store.versions.live(name), { number: 1, sha: sha(1), image });
  t.like(JSON.parse(store.versions.live(name)?.manifest ?? '{}'), { runtime: 'node20', handler: 'index.handler', timeoutMs: 5000 });
  t.is(builder.builds.length, 1);
  t.like(builder.builds[0], { fn: name, sha: sha(1), runtime: 'node20', tag: image });
  t.is(engine.started.length, 1);
  t.like(engine.started[0], { fn: name, version: 1, sha: sha(1), image, handler: 'index.handler', timeoutMs: 5000, env: { GREETING: 'Hello' } });
  t.deepEqual(deps.pool.spec(name), engine.started[0]);
  t.deepEqual((await deps.pool.acquire(name)).instance, { id: 'instance-1', fn: name, sha: sha(1), socketPath: '/nonexistent/1.sock' });

  t.deepEqual(
    events.map((e) => (e.type === 'step' ? `${e.type}:${e.phase}` : e.type)),
    ['step:manifest', 'step:build', 'detail', 'detail', 'step:start', 'detail', 'step:live'],
  );
  t.like(events[0], { text: 'Reading lambda.yaml (runtime node20, handler index.handler)' });
  t.like(events[1], { image });
  t.like(events[2], { text: 'Step 1/2 : FROM lambda-base/node20' });
  t.regex(events[5]?.text ?? '', /^healthy in \d+ ms$/);
  t.like(events[6], { url: `http://${name}.localhost:8080` });
  t.deepEqual(engine.stopped, []);
});

test('"healthy in" leaves out the wait for a turn to boot, and says it apart', async (t) => {
  const { name, engine, events } = t.context;
  engine.bootWaitMs = 60_000;
  await run(t, name, sha(1));
  const line = events.find((event) => /^healthy in/.test((event as { text?: string }).text ?? '')) as { text: string } | undefined;
  const match = /^healthy in (-?\d+) ms \(after waiting 60000 ms for a turn to boot\)$/.exec(line?.text ?? '');
  t.truthy(match, line?.text);
  t.true(Number(match?.[1]) < 60_000, 'the wait is not part of the version\'s own start');
});

test('a second deploy makes version 2 live and stops the first instance', async (t) => {
  const { name, store, engine: engine, deps } = t.context;
  await run(t, name, sha(1));
  const second = await run(t, name, sha(2));
  t.is(second.version, 2);
  t.is(store.versions.live(name)?.number, 2);
  t.is(deps.pool.spec(name)?.version, 2);
  t.is((await deps.pool.acquire(name)).instance.id, 'instance-2');
  t.true(await eventually(() => engine.stopped.includes('instance-1')), `stopped: ${engine.stopped.join(', ')}`);
  t.false(engine.stopped.includes('instance-2'));
});

test('redeploying an older commit reuses its version number', async (t) => {
  const { name, store } = t.context;
  await run(t, name, sha(1));
  await run(t, name, sha(2));
  const again = await run(t, name, sha(1));
  t.is(again.version, 1);
  t.is(store.versions.live(name)?.number, 1);
  t.is(store.versions.nextNumber(name), 3);
});

test('the same commit whose image exists is not rebuilt and keeps its number', async (t) => {
  const { name, builder, engine: engine, events } = t.context;
  const first = await run(t, name, sha(1));
  events.length = 0;
  const second = await run(t, name, sha(1));
  t.is(builder.builds.length, 1);
  t.is(second.version, first.version);
  t.is(second.image, first.image);
  t.is(engine.started.length, 2);
  t.true(events.some((e) => e.type === 'detail' && /reusing/.test(e.text)));
});

test('the same commit whose image is gone is built again and keeps its number', async (t) => {
  const { name, builder, engine: engine } = t.context;
  const first = await run(t, name, sha(1));
  engine.images.clear();
  const second = await run(t, name, sha(1));
  t.is(builder.builds.length, 2);
  t.is(second.version, first.version);
});

test('a commit without lambda.yaml is refused before anything is built', async (t) => {
  const { name, store, engine: engine, builder, events } = t.context;
  await t.throwsAsync(deploy(t.context.deps, { name, source: { ...source(sha(1)), readFile: async () => undefined } }, () => {}), {
    instanceOf: LambdaError,
    code: 'LAMBDA_ERR_MANIFEST_MISSING',
  });
  t.is(builder.builds.length, 0);
  t.is(engine.started.length, 0);
  t.is(store.versions.live(name), undefined);
  t.is(store.functions.get(name), undefined);
  t.deepEqual(events, []);
});

// Each failure is tried after version 1 is live: it must stay live and served by the same instance.
const failedDeploy = test.macro({
  async exec(t, setup: (ctx: Context) => void, manifest: string, code: string, built: number, startedAgain: boolean) {
    const { name, store, engine: engine, builder, deps } = t.context;
    await run(t, name, sha(1));
    const liveBefore = store.versions.live(name);
    const specBefore = deps.pool.spec(name);
    setup(t.context);

    await t.throwsAsync(run(t, name, sha(2), manifest), { instanceOf: LambdaError, code });

    t.deepEqual(store.versions.live(name), liveBefore);
    t.is(store.versions.bySha(name, sha(2)), undefined);
    t.is(store.versions.nextNumber(name), 2);
    t.is(builder.builds.length, 1 + built);
    t.is(engine.started.length, startedAgain ? 2 : 1);
    t.is(deps.pool.spec(name), specBefore);
    t.is((await deps.pool.acquire(name)).instance.id, 'instance-1');
    t.false(engine.stopped.includes('instance-1'));
  },
  title: (provided = '') => `${provided}: the live version is unchanged`,
});

test('an invalid manifest', failedDeploy, () => {}, 'runtime: node20\nhandler: ../x.handler\n', 'LAMBDA_ERR_MANIFEST_INVALID', 0, false);
test('a runtime with no buildpack', failedDeploy, () => {}, 'runtime: python3\nhandler: main.handler\n', 'LAMBDA_ERR_RUNTIME_UNSUPPORTED', 0, false);
test('a failed build', failedDeploy, (ctx) => (ctx.builder.fail = true), MANIFEST, 'LAMBDA_ERR_BUILD_FAILED', 1, false);
test('a failed health check', failedDeploy, (ctx) => (ctx.engine.failStart = true), MANIFEST, 'LAMBDA_ERR_HEALTHCHECK_FAILED', 1, true);

test('an invalid manifest on a first deploy records nothing', async (t) => {
  const { name, store, builder, events } = t.context;
  const error = await t.throwsAsync(run(t, name, sha(1), 'runtime: node20\nhandler: index.handler\ntimeout: ten\n'), {
    instanceOf: LambdaError,
    code: 'LAMBDA_ERR_MANIFEST_INVALID',
  });
  t.regex(error.message, /line 3: timeout/);
  t.is(builder.builds.length, 0);
  t.is(store.functions.get(name), undefined);
  t.deepEqual(events, []);
});

test('a runtime the builder lacks is refused, naming what is available', async (t) => {
  const { name, builder, engine: engine } = t.context;
  const error = await t.throwsAsync(run(t, name, sha(1), 'runtime: python3\nhandler: main.handler\n'), {
    instanceOf: LambdaError,
    code: 'LAMBDA_ERR_RUNTIME_UNSUPPORTED',
  });
  t.regex(error.message, /"python3".*node20/);
  t.is(builder.builds.length, 0);
  t.is(engine.started.length, 0);
});

test('a failed health check shows the instance logs as warnings and goes no further', async (t) => {
  const { name, engine: engine, events, store } = t.context;
  engine.failStart = true;
  await t.throwsAsync(run(t, name, sha(1)), { instanceOf: LambdaError, code: 'LAMBDA_ERR_HEALTHCHECK_FAILED' });
  t.deepEqual(
    events.filter((e) => e.type === 'warn'),
    [
      { type: 'warn', text: 'boom' },
      { type: 'warn', text: 'SyntaxError: Unexpected token' },
    ],
  );
  t.false(events.some((e) => e.type === 'step' && e.phase === 'live'));
  t.is(store.versions.live(name), undefined);
  await t.throwsAsync(t.context.deps.pool.acquire(name), { instanceOf: LambdaError, code: 'LAMBDA_ERR_NOT_DEPLOYED' });
});

test('a failed build goes no further than the build step', async (t) => {
  const { name, builder, engine: engine, events } = t.context;
  builder.fail = true;
  await t.throwsAsync(run(t, name, sha(1)), { instanceOf: LambdaError, code: 'LAMBDA_ERR_BUILD_FAILED' });
  t.deepEqual(
    events.filter((e) => e.type === 'step').map((e) => (e.type === 'step' ? e.phase : '')),
    ['manifest', 'build'],
  );
  t.is(engine.started.length, 0);
});

const badName = test.macro({
  async exec(t, name: string) {
    await t.throwsAsync(run(t, name, sha(1)), { instanceOf: LambdaError, code: 'LAMBDA_ERR_INVALID_NAME' });
    t.is(t.context.builder.builds.length, 0);
    t.deepEqual(t.context.store.functions.list(), []);
  },
  title: (_provided, name: string) => `deploy refuses the name ${JSON.stringify(name)}`,
});

test(badName, '../greet');
test(badName, 'Greet');
test(badName, '');

test('a second deploy of the same function while one runs is refused', async (t) => {
  const { name, builder } = t.context;
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const build = builder.build.bind(builder);
  builder.build = async (input, onLine) => {
    await gate;
    return build(input, onLine);
  };

  const first = run(t, name, sha(1));
  await t.throwsAsync(run(t, name, sha(2)), { instanceOf: LambdaError, code: 'LAMBDA_ERR_DEPLOY_IN_PROGRESS' });
  release();
  t.is((await first).version, 1);
  t.is((await run(t, name, sha(2))).version, 2);
});

test('metrics count each build with its outcome, and no build for a reused image', async (t) => {
  const { name, builder, deps } = t.context;
  const builds: [string, string][] = [];
  deps.metrics = { ...deps.metrics, build: (fn, durationMs, outcome) => void builds.push([fn, durationMs >= 0 ? outcome : 'negative']) };
  await run(t, name, sha(1));
  await run(t, name, sha(1));
  builder.fail = true;
  await t.throwsAsync(run(t, name, sha(2)), { code: 'LAMBDA_ERR_BUILD_FAILED' });
  t.deepEqual(builds, [
    [name, 'success'],
    [name, 'failure'],
  ]);
});

test('after each release metrics drop the series of versions whose images go (beyond the newest kept, never the live one)', async (t) => {
  const { name, deps } = t.context;
  const pruned: number[][] = [];
  deps.keepImages = 2;
  deps.metrics = { ...deps.metrics, versionsPruned: (fn, versions) => void (fn === name && pruned.push(versions)) };
  for (const commit of [1, 2, 3, 4]) await run(t, name, sha(commit));
  t.deepEqual(pruned, [[1], [2, 1]]);
});

/** Prometheus' series as deploy leaves them, once the removal of a function's series (it runs in the background) ran. */
async function seriesOf(t: ExecutionContext<Context>, build: () => Promise<unknown>): Promise<string> {
  const prometheus = createPrometheus({ functions: () => [], instances: () => ({}), queues: () => new Map(), deadLetters: () => new Map() }, () => 0);
  t.context.deps = { ...t.context.deps, metrics: prometheus };
  await build();
  let text = await prometheus.text();
  for (let turn = 0; turn < 50 && text.includes(`function="${t.context.name}"`); turn++) {
    await new Promise((resolve) => setImmediate(resolve));
    text = await prometheus.text();
  }
  return text;
}

test('a first deploy whose build fails leaves no build series of a function that does not exist', async (t) => {
  const { name, builder, store } = t.context;
  builder.fail = true;
  const text = await seriesOf(t, () => t.throwsAsync(run(t, name, sha(1)), { code: 'LAMBDA_ERR_BUILD_FAILED' }));
  t.is(store.functions.get(name), undefined);
  t.false(text.includes(`function="${name}"`), text);
});

test('a failed build of a function that exists is counted', async (t) => {
  const { name, builder } = t.context;
  const text = await seriesOf(t, async () => {
    await run(t, name, sha(1));
    builder.fail = true;
    await t.throwsAsync(run(t, name, sha(2)), { code: 'LAMBDA_ERR_BUILD_FAILED' });
  });
  t.true(text.includes(`lambda_builds_total{function="${name}",outcome="failure"} 1`), text);
  t.true(text.includes(`lambda_builds_total{function="${name}",outcome="success"} 1`), text);
});
