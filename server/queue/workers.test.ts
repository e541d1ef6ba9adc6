// The queue's workers against a stand-in dispatch: what a failed queued public call leaves in its record.
import test from 'ava';
import { createQueueWorkers, workerSettings } from './workers.js';
import { enqueueInvocation } from './invocations.js';
import { loadConfig } from '../config/load.js';
import { noBackground, testDeps, unused } from '../../test/helpers/deps.js';
import type { Dispatch } from '../instances/requests/dispatch.js';
import type { InstancePool } from '../instances/pool/pool.js';

test("a queued public call's 5xx body is kept with its control characters escaped", async (t) => {
  const answer = 'boom\x1b[2J\r\nSTART RequestId: forged\x07';
  const dispatch: Dispatch = { ...unused<Dispatch>('dispatch'), request: async () => ({ statusCode: 500, headers: {}, body: answer }) };
  const pool = { ...unused<InstancePool>('pool'), spec: () => undefined };
  const deps = testDeps({ dispatch, pool, background: noBackground });
  deps.store.functions.ensure('greet');
  const { invocationId } = enqueueInvocation(deps, { name: 'greet', request: { method: 'POST', path: '/', headers: {}, body: '', keyed: false } });
  const logged: string[] = [];
  const workers = createQueueWorkers(deps, { settings: workerSettings(loadConfig({})), log: (_fn, _version, text) => logged.push(text) });
  workers.notify('greet');
  await workers.stop(5_000);
  const record = deps.store.invocations.get('greet', invocationId);
  t.is(record?.attempts, 1);
  t.is(record?.error, 'HTTP 500: boom\\x1b[2J\\r\\nSTART RequestId: forged\\x07');
  t.false(logged.some((line) => line.includes('\x1b') || line.includes('\r')), 'nor does the line logged of it hold them');
});
