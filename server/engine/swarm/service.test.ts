// The swarm's service names: an instance's and a cell's fit the engine's 63 characters for any function name, the
// longest too, and stay apart per function and per instance.
import test from 'ava';
import type { InstanceSpec } from '../../instances/engine.js';
import { cellService, cellServiceName, serviceName } from './service.js';

/** The longest name a function may have. */
const LONG = `long-${'n'.repeat(57)}e`;
const ID = '0123456789ab';

const spec = (fn: string): InstanceSpec => ({
  fn, version: 1, sha: 'a'.repeat(40), image: `lambda/${fn}:1`, handler: 'index.handler', timeoutMs: 10_000, memoryBytes: 128 * 1024 * 1024,
  concurrency: 1, minInstances: 0, maxInstances: 4, env: {}, runtime: 'node20',
});

test("a cell's and an instance's service names fit 63 characters for a function with the longest name", (t) => {
  t.is(LONG.length, 63);
  for (const name of [serviceName(LONG, ID), cellServiceName(LONG, ID)]) {
    t.true(name.length <= 63, name);
    t.true(name.endsWith(`-${ID}`), name);
  }
  t.true(cellServiceName(LONG, ID).startsWith('lambda-cell-long-'));
  // Two long names that differ only at their end stay apart.
  t.not(cellServiceName(LONG, ID), cellServiceName(`${LONG.slice(0, -1)}f`, ID));
  t.is(cellServiceName('greet', ID), `lambda-cell-greet-${ID}`);
});

test("a cell's service is named as a cell, shortened, pinned to its node and labelled a cell", (t) => {
  const link = { image: 'registry/lambda/x@sha256:0', authority: { id: 'a', name: 'auth' }, secret: { id: 's', name: 'sec' } };
  const service = cellService(spec(LONG), ID, 'server', 'local', link, { runtime: 'node20', node: 'node1' }) as { Name: string; Labels: Record<string, string>; TaskTemplate: { Placement: unknown } };
  t.is(service.Name, cellServiceName(LONG, ID));
  t.true(service.Name.length <= 63);
  t.is(service.Labels['lambda.cell'], 'node20');
  t.deepEqual(service.TaskTemplate.Placement, { Constraints: ['node.id==node1'] });
});
