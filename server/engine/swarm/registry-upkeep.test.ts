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

/**
 * A write side that holds tags and answers HEAD, DELETE and the tags' list as the registry (2.8) does: DELETE of a
 * digest drops every tag naming it. `same` gives tags the digest of another (identical content); `failing` answers 500.
 */
async function fakeRegistry(tags: string[], same: Record<string, string> = {}) {
  const held = new Map(tags.map((tag) => [tag, digestOf(same[tag] ?? tag)]));
  const requests: string[] = [];
  const state = { failing: false };
  const server = http.createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    if (state.failing) return response.writeHead(500).end();
    const list = /^\/v2\/(.+)\/tags\/list$/.exec(request.url ?? '');
    if (request.method === 'GET' && list) {
      const found = [...held.keys()].filter((tag) => tag.startsWith(`${list[1]}:`)).map((tag) => tag.slice(list[1].length + 1));
      return response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: list[1], tags: found.length > 0 ? found : null }));
    }
    const head = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(request.url ?? '');
    if (request.method === 'HEAD' && head) {
      const digest = held.get(`${head[1]}:${head[2]}`);
      return digest ? response.writeHead(200, { 'docker-content-digest': digest }).end() : response.writeHead(404).end();
    }
    if (request.method === 'DELETE' && head) {
      const gone = [...held].filter(([tag, digest]) => tag.startsWith(`${head[1]}:`) && digest === head[2]).map(([tag]) => tag);
      for (const tag of gone) held.delete(tag);
      return response.writeHead(gone.length > 0 ? 202 : 404).end();
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
    kept: async () => new Set<string>(),
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
  t.deepEqual([...registry.held.keys()], ['lambda-fn/greet:ccc']);
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
  t.deepEqual([...registry.held.keys()].sort(), ['lambda-fn/b:2', 'lambda-fn/c:3']);
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

test("a version's manifest that a kept version's tag also names (identical content) is not deleted; it goes with the last kept one", async (t) => {
  // v1 and v2 are one image (an empty commit): one manifest, two tags. The registry would drop both with one DELETE.
  const registry = await fakeRegistry(['lambda-fn/reg:v1', 'lambda-fn/reg:v2', 'lambda-fn/reg:v3', 'lambda-fn/other:v1'], { 'lambda-fn/reg:v2': 'lambda-fn/reg:v1', 'lambda-fn/other:v1': 'lambda-fn/reg:v1' });
  t.teardown(registry.close);
  const engine = new Set(['v2', 'v3']);
  const dropped: string[] = [];
  const { upkeep, dir, warnings } = setup(t, { push: registry.push, kept: async (name) => (name === 'lambda-fn/reg' ? engine : new Set()), dropped: (name, digest) => dropped.push(`${name}@${digest}`) });
  await upkeep.deleted('lambda-fn/reg:v1');
  t.deepEqual([...registry.held.keys()].sort(), ['lambda-fn/other:v1', 'lambda-fn/reg:v1', 'lambda-fn/reg:v2', 'lambda-fn/reg:v3'], 'the live version keeps its tag and manifest');
  t.false(registry.requests.some((line) => line.startsWith('DELETE')));
  t.deepEqual(pending(dir), [], 'done, not kept to retry');
  t.true(warnings.some((line) => /lambda-fn\/reg:v1 names the same image as lambda-fn\/reg:v2, which is kept/.test(line)));
  t.deepEqual(dropped, []);
  // v2 goes in its turn: v1's tag, left behind, is no kept version's, so the manifest and both tags go.
  engine.delete('v2');
  await upkeep.deleted('lambda-fn/reg:v2');
  t.deepEqual([...registry.held.keys()].sort(), ['lambda-fn/other:v1', 'lambda-fn/reg:v3']);
  t.deepEqual(dropped, [`lambda-fn/reg@${digestOf('lambda-fn/reg:v1')}`], 'the publisher is told the digest is gone');
});

test('a deletion to retry is held to the same rule, and one asked for while a push runs waits for the retry', async (t) => {
  const registry = await fakeRegistry(['lambda-fn/reg:v1', 'lambda-fn/reg:v2'], { 'lambda-fn/reg:v2': 'lambda-fn/reg:v1' });
  t.teardown(registry.close);
  let pushes = 1;
  const { upkeep, dir } = setup(t, { push: registry.push, pushing: () => pushes, kept: async () => new Set(['v2']) });
  // A push let in before the removal could put a kept tag on the manifest between the listing and the DELETE.
  await upkeep.deleted('lambda-fn/reg:v1');
  t.deepEqual(registry.requests, [], 'nothing asked while a push runs');
  t.deepEqual(pending(dir), ['lambda-fn/reg:v1']);
  pushes = 0;
  t.true(await upkeep.collect());
  t.deepEqual([...registry.held.keys()].sort(), ['lambda-fn/reg:v1', 'lambda-fn/reg:v2'], 'the retry did not delete the live version');
  t.deepEqual(pending(dir), []);
});

test('a tag the publisher is pushing counts as kept', async (t) => {
  const registry = await fakeRegistry(['lambda-fn/reg:v1', 'lambda-fn/reg:v2'], { 'lambda-fn/reg:v2': 'lambda-fn/reg:v1' });
  t.teardown(registry.close);
  const { upkeep } = setup(t, { push: registry.push, known: (tag) => tag === 'lambda-fn/reg:v2' });
  await upkeep.deleted('lambda-fn/reg:v1');
  t.is(registry.held.size, 2);
});
