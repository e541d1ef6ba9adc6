// Where a swarm cell is pinned, and which versions have cells there.
import test from 'ava';
import { cellKey, chooseNode, functionLoad, type NodeEntry } from './placement.js';

const node = (ID: string, extra: { role?: string; availability?: string; state?: string } = {}): NodeEntry => ({
  ID,
  Spec: { Role: extra.role ?? 'worker', Availability: extra.availability ?? 'active' },
  Status: { State: extra.state ?? 'ready' },
});

test("a cell goes to the usable node with the fewest of its function's cells and instances", (t) => {
  const nodes = [node('m', { role: 'manager' }), node('w1'), node('w2')];
  t.is(chooseNode(nodes, new Map([['w1', 2], ['w2', 1], ['m', 3]])), 'w2');
  t.is(chooseNode(nodes, new Map([['w1', 1], ['w2', 1], ['m', 0]])), 'm', 'the least loaded, even the manager');
  t.is(chooseNode(nodes, new Map([['w2', 1]])), 'w1', 'a tie: a worker before the manager, then by id');
});

test('a node that is down, drained or paused takes no cell; none usable: undefined', (t) => {
  const nodes = [node('m', { role: 'manager', availability: 'drain' }), node('w1', { state: 'down' }), node('w2', { availability: 'pause' }), node('w3')];
  t.is(chooseNode(nodes, new Map([['w3', 9]])), 'w3');
  t.is(chooseNode(nodes.slice(0, 3), new Map()), undefined);
});

test("a function's load counts a cell by its pin and an instance by its live task's node", (t) => {
  const load = functionLoad(
    [
      { ID: 'cell', Spec: { TaskTemplate: { Placement: { Constraints: ['node.id==w1'] } } } },
      { ID: 'instance' },
      { ID: 'ended' },
      { ID: 'pending' },
    ],
    [
      { ServiceID: 'instance', NodeID: 'w2', Status: { State: 'running' } },
      { ServiceID: 'ended', NodeID: 'w2', Status: { State: 'failed' } },
      { ServiceID: 'pending', Status: { State: 'pending' } },
    ],
  );
  t.deepEqual([...load.entries()].sort(), [['w1', 1], ['w2', 1]]);
});

test("a version's cells are keyed by its image, only for a runtime with cells and no start-up variable", (t) => {
  const recipes = [{ runtime: 'node20', settings: { startupEnv: /^NODE_OPTIONS$/ } }];
  const spec = { image: 'lambda-fn/greet:abc', runtime: 'node20', env: { GREETING: 'hi' } };
  t.is(cellKey(spec, recipes), 'lambda-fn/greet:abc');
  t.is(cellKey({ ...spec, runtime: 'go' }, recipes), undefined, 'go has no cells');
  t.is(cellKey({ ...spec, runtime: 'docker' }, recipes), undefined);
  t.is(cellKey({ ...spec, runtime: undefined }, recipes), undefined);
  t.is(cellKey({ ...spec, env: { NODE_OPTIONS: '--max-old-space-size=64' } }, recipes), undefined, 'read only at process start');
});
