// Unit tests of the schedule verbs and syncSchedules with real SQLite: manifest schedules follow the live version
// (a rollback brings back that version's, with the same ids), CLI ones stay; bad input is refused with its code.
import test from 'ava';
import type { ErrorCode, LambdaError } from '../errors.js';
import { openStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import type { Deps } from '../functions/deps.js';
import { noBackground, testDeps } from '../../test/helpers/deps.js';
import { addSchedule, listSchedules, removeSchedule, syncSchedules } from './verbs.js';

const manifest = (schedules: unknown[]) => JSON.stringify({ runtime: 'node20', handler: 'index.handler', schedules });

function setup(): { store: Store; changed: string[]; deps: Deps } {
  const store = openStore(':memory:');
  const changed: string[] = [];
  return { store, changed, deps: testDeps({ store, background: { ...noBackground, schedulesChanged: (fn) => void changed.push(fn) } }) };
}

test('manifest schedules follow the live version, a rollback brings back the same ids, CLI schedules stay', (t) => {
  const { store, deps, changed } = setup();
  store.versions.publish({ fn: 'greet', sha: 'a'.repeat(40), image: 'i1', manifest: manifest([{ cron: '0 * * * *', payload: { job: 'a' }, overlap: 'skip' }]) });
  syncSchedules(deps, 'greet');
  const v1 = listSchedules(deps, { name: 'greet' });
  t.like(v1, [{ source: 'manifest', cron: '0 * * * *', payload: { job: 'a' }, overlap: 'skip', lastFired: null }]);
  const cli = addSchedule(deps, { name: 'greet', cron: '*/5 * * * * *', overlap: 'allow' });
  store.versions.publish({ fn: 'greet', sha: 'b'.repeat(40), image: 'i2', manifest: manifest([{ cron: '30 2 * * *', overlap: 'allow' }]) });
  syncSchedules(deps, 'greet');
  t.deepEqual(listSchedules(deps, { name: 'greet' }).map((s) => [s.source, s.cron]).sort(), [['cli', '*/5 * * * * *'], ['manifest', '30 2 * * *']]);
  // Rollback: v1's commit live again (publish reuses its number), and its schedule comes back under its old id.
  store.versions.publish({ fn: 'greet', sha: 'a'.repeat(40), image: 'i1', manifest: manifest([{ cron: '0 * * * *', payload: { job: 'a' }, overlap: 'skip' }]) });
  syncSchedules(deps, 'greet');
  const back = listSchedules(deps, { name: 'greet' });
  t.deepEqual(back.map((s) => s.id).sort(), [v1[0]?.id, cli.id].sort());
  t.deepEqual(changed, ['greet', 'greet', 'greet', 'greet']);
});

test('an unchanged manifest schedule keeps its last firing across a redeploy', (t) => {
  const { store, deps } = setup();
  store.versions.publish({ fn: 'greet', sha: 'a'.repeat(40), image: 'i1', manifest: manifest([{ cron: '0 * * * *', overlap: 'skip' }]) });
  syncSchedules(deps, 'greet');
  const id = store.schedules.list('greet')[0]?.id as string;
  const time = Date.now() + 1000;
  t.true(store.schedules.claim(id, time));
  t.false(store.schedules.claim(id, time), 'a cron time is claimed once');
  store.versions.publish({ fn: 'greet', sha: 'b'.repeat(40), image: 'i2', manifest: manifest([{ cron: '0 * * * *', overlap: 'skip' }]) });
  syncSchedules(deps, 'greet');
  t.like(store.schedules.list('greet'), [{ id, lastFired: time }]);
  t.false(store.schedules.claim(id, time), 'the claim survived the redeploy');
});

const refused = test.macro((t, run: (deps: ReturnType<typeof setup>['deps']) => unknown, code: ErrorCode, pattern?: RegExp) => {
  const { store, deps } = setup();
  store.versions.publish({ fn: 'greet', sha: 'a'.repeat(40), image: 'i1', manifest: manifest([{ cron: '0 * * * *', overlap: 'skip' }]) });
  syncSchedules(deps, 'greet');
  const error = t.throws(() => run(deps)) as LambdaError;
  t.is(error.code, code);
  if (pattern) t.regex(error.message, pattern);
});

test('a minute out of range, naming the field', refused, (deps) => addSchedule(deps, { name: 'greet', cron: '61 * * * *' }), 'LAMBDA_ERR_BAD_CRON', /minute/);
test('a day of week that is a word', refused, (deps) => addSchedule(deps, { name: 'greet', cron: '* * * * someday' }), 'LAMBDA_ERR_BAD_CRON', /day of week/);
test('four fields', refused, (deps) => addSchedule(deps, { name: 'greet', cron: '* * * *' }), 'LAMBDA_ERR_BAD_CRON', /5 fields/);
test('a shell command as the cron', refused, (deps) => addSchedule(deps, { name: 'greet', cron: '* * * * *; rm -rf /' }), 'LAMBDA_ERR_BAD_CRON');
test('a payload that is not JSON', refused, (deps) => addSchedule(deps, { name: 'greet', cron: '* * * * *', payload: '{x' }), 'LAMBDA_ERR_BAD_PAYLOAD');
test('an unknown overlap', refused, (deps) => addSchedule(deps, { name: 'greet', cron: '* * * * *', overlap: 'queue' }), 'LAMBDA_ERR_BAD_REQUEST');
test('a name with ..', refused, (deps) => addSchedule(deps, { name: '../greet', cron: '* * * * *' }), 'LAMBDA_ERR_INVALID_NAME');
test('an unknown function', refused, (deps) => listSchedules(deps, { name: 'nobody' }), 'LAMBDA_ERR_FUNCTION_NOT_FOUND');
test('an unknown id', refused, (deps) => removeSchedule(deps, { name: 'greet', id: '../../etc' }), 'LAMBDA_ERR_SCHEDULE_NOT_FOUND');
test('unscheduling a lambda.yaml schedule', refused, (deps) => removeSchedule(deps, { name: 'greet', id: deps.store.schedules.list('greet')[0]?.id as string }), 'LAMBDA_ERR_SCHEDULE_IN_MANIFEST');
