// The swarm's cells against a fake engine: a deleted function's cell being made is given up at once (its place told,
// its service removed) and never kept, no cell is made for the function afterwards (a schedule's reservation, a
// prepare), and one is made again once the function starts anew.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type Docker from 'dockerode';
import type { InstanceSpec } from '../../instances/engine.js';
import type { CellRecipe } from '../../instances/cells/image.js';
import type { InstanceClients } from '../../instances/requests/client.js';
import { createSwarmCells, type SwarmCellHost } from './cells.js';
import type { CellPlace } from './service.js';

const spec: InstanceSpec = {
  fn: 'race', version: 1, sha: 'a'.repeat(40), image: 'lambda/race:1', handler: 'index.handler', timeoutMs: 10_000, memoryBytes: 128 << 20,
  concurrency: 1, minInstances: 0, maxInstances: 4, env: {}, runtime: 'node20',
};
const recipe = { runtime: 'node20', settings: { startupEnv: /^NODE_OPTIONS$/, waitingBytes: 1 << 20 } } as unknown as CellRecipe;
const docker = {
  listNodes: async () => [{ ID: 'n1', Spec: { Role: 'worker', Availability: 'active' }, Status: { State: 'ready' } }],
  listServices: async () => [],
  listTasks: async () => [],
} as unknown as Docker;

interface Placed {
  id: string;
  place: CellPlace;
  answer(): void;
}

/** A host whose places wait until answered, and fail once their signal aborts (as the engine's place does). */
function fakeHost() {
  const placed: Placed[] = [];
  const removed: string[] = [];
  const host: SwarmCellHost = {
    place: (_spec, id, place) =>
      new Promise((resolve, reject) => {
        placed.push({ id, place, answer: () => resolve({ id, fn: spec.fn, sha: spec.sha, socketPath: '' }) });
        place.signal?.addEventListener('abort', () => reject(new Error('it was given up')), { once: true });
      }),
    remove: async (id) => void removed.push(id),
    ended: () => {},
    running: async () => true,
  };
  return { host, placed, removed };
}

const until = async (check: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 400 && !check(); i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!check()) throw new Error(`never: ${what}`);
};

function cellsWith(host: SwarmCellHost, lines: string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-cells-'));
  return createSwarmCells({
    docker, clients: {} as InstanceClients, serverId: 's', region: 'local', instancesDir: dir, cellsDir: path.join(dir, 'cells'),
    recipes: [recipe], growth: { maxBytes: 64 << 20 }, log: (line) => lines.push(line), host,
  });
}

test("a deleted function's cell being made is given up and removed at once, none is made for it after, and one is once it starts again", async (t) => {
  const { host, placed, removed } = fakeHost();
  const lines: string[] = [];
  const cells = cellsWith(host, lines);
  // A classic start (no cell waits) asks for one cell of its version.
  t.is(await cells.start(spec), undefined);
  await until(() => placed.length === 1, 'a cell being placed');
  const [first] = placed;
  t.false(first.place.signal?.aborted);

  cells.forgetFunction('race');
  t.true(first.place.signal?.aborted, 'its place is told');
  t.deepEqual(removed, [first.id], 'its service removed at once');
  await until(() => lines.some((line) => /cell failed \(.*race/.test(line) || /given up/.test(line)), 'the pool to hear it failed');
  t.deepEqual(cells.status(), {}, 'no cell kept or counted for it');

  // Later asks for it (a schedule's reservation, a version readied after a release) make none.
  cells.reserve(spec, Date.now() + 60_000);
  await cells.prepare(spec);
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.is(placed.length, 1);

  // Pushed anew: its start makes cells again.
  t.is(await cells.start(spec), undefined);
  await until(() => placed.length > 1, 'a cell of the function pushed anew');
  for (const each of placed.slice(1)) each.answer();
  await until(() => (cells.status().node20?.ready ?? 0) > 0, 'a new cell to wait');
  await cells.shutdown();
});

test('a cell whose place answered after its function was deleted is never kept', async (t) => {
  const { placed, removed, host } = fakeHost();
  // A place that finishes in spite of the abort (its dial-in came first).
  const late: SwarmCellHost = { ...host, place: (s, id, place, onEnd) => {
    const made = host.place(s, id, { ...place, signal: undefined }, onEnd);
    return made;
  } };
  const cells = cellsWith(late, []);
  t.is(await cells.start(spec), undefined);
  await until(() => placed.length === 1, 'a cell being placed');
  cells.forgetFunction('race');
  placed[0].answer();
  await until(() => removed.filter((id) => id === placed[0].id).length >= 2, 'the late cell removed');
  t.deepEqual(cells.status(), {});
  await cells.shutdown();
});
