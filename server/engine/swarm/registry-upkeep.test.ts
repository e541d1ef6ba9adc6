// The registry's bound: deletions reach the write side once and a failed one is retried (after a restart too), a
// collection runs after N deletions and daily, and never beside a push.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { createImageGate } from '../image-gate.js';
import { MAX_PENDING, PENDING_FILE, collectGarbage, createRegistryUpkeep, type RegistryUpkeepOptions } from './registry-upkeep.js';

/** A tag's manifest digest in the fake registry. */
const digestOf = (tag: string) => `sha256:${Buffer.from(tag).toString('hex').padEnd(64, '0').slice(0, 64)}`;

/** A write side that holds tags and answers HEAD and DELETE as the registry does; `failing` answers 500 instead. */
async function fakeRegistry(tags: string[]) {
  const held = new Set(tags);
  const requests: string[] = [];
  const state = { failing: false };
  const server = http.createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    if (state.failing) return response.writeHead(500).end();
    const head = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(request.url ?? '');
    if (request.method === 'HEAD' && head) {
      const tag = `${head[1]}:${head[2]}`;
      return held.has(tag) ? response.writeHead(200, { 'docker-content-digest': digestOf(tag) }).end() : response.writeHead(404).end();
    }
    if (request.method === 'DELETE' && head) {
      const tag = [...held].find((each) => digestOf(each) === head[2]);
      if (tag) held.delete(tag);
      return response.writeHead(tag ? 202 : 404).end();
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { push: `127.0.0.1:${(server.address() as AddressInfo).port}`, held, requests, state, close: () => server.close() };
}

function setup(t: { teardown(fn: () => void): void }, overrides: Partial<RegistryUpkeepOptions> & { push: string }) {
  const dir = overrides.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-registry-'));
  const warnings: string[] = [];
  const collections: string[] = [];
  const upkeep = createRegistryUpkeep({
    dir,
    collectEvery: 50,
    gate: createImageGate(),
    pushing: () => 0,
    known: () => false,
    warn: (line) => warnings.push(line),
    collect: async (file) => {
      collections.push(file);
    },
    ...overrides,
  });
  t.teardown(() => upkeep.close());
  return { upkeep, dir, warnings, collections };
}

const pending = (dir: string) => {
  try {
    return fs.readFileSync(path.join(dir, PENDING_FILE), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

test('a removed version\'s tag is deleted from the write side once, and a collection runs after N deletions on the write side\'s file', async (t) => {
  const registry = await fakeRegistry(['lambda-fn/greet:aaa', 'lambda-fn/greet:bbb', 'lambda-fn/greet:ccc']);
  t.teardown(registry.close);
  const { upkeep, dir, collections } = setup(t, { push: registry.push, collectEvery: 2 });
  await upkeep.deleted('lambda-fn/greet:aaa');
  t.deepEqual(registry.requests.filter((line) => line.startsWith('DELETE')).length, 1);
  t.deepEqual(collections, [], 'one deletion of two');
  await upkeep.deleted('lambda-fn/greet:never-pushed');
  t.deepEqual(collections, [], 'a tag that was not there is no deletion');
  await upkeep.deleted('lambda-fn/greet:bbb');
  await upkeep.collect();
  t.deepEqual(collections, [path.join(dir, 'write.yml')]);
  t.deepEqual([...registry.held], ['lambda-fn/greet:ccc']);
  t.deepEqual(pending(dir), []);
});

test('a deletion that fails is kept in the registry\'s folder and retried, after a restart too; one pushed again meanwhile is not deleted', async (t) => {
  const registry = await fakeRegistry(['lambda-fn/a:1', 'lambda-fn/b:2', 'lambda-fn/c:3']);
  t.teardown(registry.close);
  const first = setup(t, { push: registry.push });
  registry.state.failing = true;
  await first.upkeep.deleted('lambda-fn/a:1');
  await first.upkeep.deleted('lambda-fn/b:2');
  await first.upkeep.deleted('lambda-fn/c:3');
  t.deepEqual(pending(first.dir), ['lambda-fn/a:1', 'lambda-fn/b:2', 'lambda-fn/c:3']);
  t.true(first.warnings.some((line) => /deleting lambda-fn\/a:1 failed/.test(line)));
  first.upkeep.pushed('lambda-fn/c:3');
  first.upkeep.close();

  registry.state.failing = false;
  // A new process on the same folder: b:2 is published again by it, so its deletion is dropped.
  const second = setup(t, { push: registry.push, dir: first.dir, known: (tag) => tag === 'lambda-fn/b:2' });
  t.true(await second.upkeep.collect());
  t.deepEqual([...registry.held].sort(), ['lambda-fn/b:2', 'lambda-fn/c:3']);
  t.deepEqual(pending(first.dir), []);
  t.is(second.collections.length, 1);
});

test('the deletions kept to retry are bounded: past the bound the oldest go', async (t) => {
  const { upkeep, dir, warnings } = setup(t, { push: '127.0.0.1:9' });
  fs.writeFileSync(path.join(dir, PENDING_FILE), Array.from({ length: MAX_PENDING }, (_, i) => `lambda-fn/f:${i}\n`).join(''));
  await upkeep.deleted('lambda-fn/f:new');
  const kept = pending(dir);
  t.is(kept.length, MAX_PENDING);
  t.is(kept[0], 'lambda-fn/f:1');
  t.is(kept.at(-1), 'lambda-fn/f:new');
  t.true(warnings.some((line) => /1 deletion\(s\) to retry dropped/.test(line)));
});

test('a collection waits for the push under way, and a push asked for during the collection waits for its end', async (t) => {
  const registry = await fakeRegistry([]);
  t.teardown(registry.close);
  const gate = createImageGate();
  const order: string[] = [];
  let finishCollection = () => {};
  const { upkeep } = setup(t, {
    push: registry.push,
    gate,
    collect: () => {
      order.push('collection starts');
      return new Promise<void>((resolve) => (finishCollection = () => (order.push('collection ends'), resolve())));
    },
  });
  let finishPush = () => {};
  const push = gate.build(() => new Promise<void>((resolve) => (order.push('push 1 starts'), (finishPush = () => (order.push('push 1 ends'), resolve())))));
  const collected = upkeep.collect();
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(order, ['push 1 starts'], 'the collection waits while a push runs');
  finishPush();
  await push;
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(order.at(-1), 'collection starts');
  const second = gate.build(async () => order.push('push 2 starts'));
  await new Promise((resolve) => setImmediate(resolve));
  t.is(order.at(-1), 'collection starts', 'a push during the collection waits');
  finishCollection();
  t.true(await collected);
  await second;
  t.deepEqual(order, ['push 1 starts', 'push 1 ends', 'collection starts', 'collection ends', 'push 2 starts']);
});

test('a collection let in beside long builds does not run while a push is among them', async (t) => {
  const gate = createImageGate(20);
  let pushes = 1;
  const { upkeep, collections } = setup(t, { push: '127.0.0.1:9', gate, pushing: () => pushes });
  let finish = () => {};
  const build = gate.build(() => new Promise<void>((resolve) => (finish = resolve)));
  t.false(await upkeep.collect(), 'deferred: the gate let it in after its wait, beside the push');
  t.deepEqual(collections, []);
  pushes = 0;
  t.true(await upkeep.collect(), 'beside a build alone it runs');
  t.is(collections.length, 1);
  finish();
  await build;
});

test('each collection that ran is told (the nodes prune then), once the gate is let go; one deferred or failed is not', async (t) => {
  const gate = createImageGate(20);
  let pushes = 1;
  let failing = false;
  const told: boolean[] = [];
  // The gate's wait is an unref'd timer: something must keep the test's process alive meanwhile.
  const alive = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(alive));
  const { upkeep } = setup(t, {
    push: '127.0.0.1:9', gate, pushing: () => pushes,
    collect: async () => {
      if (failing) throw new Error('disk full');
    },
    // What it starts may push: the gate must be free by then.
    collected: () => told.push(gate.state().removing),
  });
  let finish = () => {};
  const build = gate.build(() => new Promise<void>((resolve) => (finish = resolve)));
  t.false(await upkeep.collect());
  finish();
  await build;
  t.deepEqual(told, [], 'deferred: not told');
  pushes = 0;
  t.true(await upkeep.collect());
  t.deepEqual(told, [false], 'told once, with the gate free');
  failing = true;
  t.false(await upkeep.collect());
  t.deepEqual(told, [false], 'failed: not told');
});

test('a collection runs daily without deletions, and one that fails is said and does not stop the next', async (t) => {
  let calls = 0;
  let ran = () => {};
  const second = new Promise<void>((resolve) => (ran = resolve));
  const { warnings } = setup(t, {
    push: '127.0.0.1:9',
    dailyMs: 20,
    collect: async () => {
      calls += 1;
      if (calls === 1) throw new Error('disk full');
      ran();
    },
  });
  await second;
  t.true(warnings.some((line) => /garbage collection failed: disk full/.test(line)));
});

test('the registry\'s program is what runs the collection, on the write side\'s file', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-registry-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // A file that is no configuration: the program itself says so (or is missing), and the failure carries its words.
  fs.writeFileSync(path.join(dir, 'write.yml'), 'not: [a registry');
  await t.throwsAsync(collectGarbage(path.join(dir, 'write.yml')), { message: /docker-registry/ });
});
