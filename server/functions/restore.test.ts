// Unit tests of restore's first step: the engine is told which functions the store has, before it lists or starts
// anything, so what an earlier process kept for the others (a swarm's links) is swept while nothing uses it.
import test from 'ava';
import type { Engine, InstanceSpec } from '../instances/engine.js';
import type { InstancePool } from '../instances/pool/pool.js';
import { openStore } from '../store/sqlite.js';
import { restore } from './restore.js';

const MANIFEST = JSON.stringify({ runtime: 'node20', handler: 'index.handler' });

test('restore sweeps what the engine keeps for functions the store no longer has, before anything else', async (t) => {
  const store = openStore(':memory:');
  t.teardown(() => store.close());
  store.versions.publish({ fn: 'kept', sha: 'a'.repeat(40), image: 'lambda-fn/kept:aaaaaaaaaaaa', manifest: MANIFEST });
  const calls: string[] = [];
  const engine = {
    sweepFunctions: async (known: string[]) => {
      calls.push(`sweep ${known.join(',')}`);
      return 0;
    },
    listManaged: async () => {
      calls.push('list');
      return [];
    },
  } as unknown as Engine;
  const pool = { activate: async (spec: InstanceSpec) => void calls.push(`activate ${spec.fn}`) } as unknown as InstancePool;
  await restore({ store, engine, pool });
  t.deepEqual(calls, ['sweep kept', 'list', 'activate kept']);
});
