// The per-function lock: a second change is refused at once; work run under `withFunctionLocked` may take its own hold
// again (a registration's deploy), and nothing outside it or after it can.
import test from 'ava';
import { LambdaError } from '../errors.js';
import { isLocked, lockFunction, withFunctionLocked } from './lock.js';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof LambdaError ? error.code : String(error);
  }
  return undefined;
};

test('work under withFunctionLocked takes the same change again; another change or another caller is refused', async (t) => {
  // A continuation attached outside the work runs as another request would, even while the work is under way.
  let open = () => {};
  const elsewhere = new Promise<void>((resolve) => (open = resolve)).then(() => code(() => lockFunction('lock-a', 'deploy')));
  let goLater = () => {};
  let later: Promise<string | undefined> | undefined;
  await withFunctionLocked('lock-a', 'deploy', async () => {
    const again = lockFunction('lock-a', 'deploy');
    again();
    t.true(isLocked('lock-a'), 'the inner release does not let go of the outer hold');
    t.is(code(() => lockFunction('lock-a', 'rollback')), 'LAMBDA_ERR_DEPLOY_IN_PROGRESS');
    open();
    t.is(await elsewhere, 'LAMBDA_ERR_DEPLOY_IN_PROGRESS');
    later = new Promise<void>((resolve) => (goLater = resolve)).then(() => code(() => lockFunction('lock-a', 'deploy')));
  });
  t.false(isLocked('lock-a'));
  // Work started inside that runs once the hold has ended holds nothing: another's later hold refuses it.
  const another = lockFunction('lock-a', 'deploy');
  goLater();
  t.is(await later, 'LAMBDA_ERR_DEPLOY_IN_PROGRESS');
  another();
});

test('a second withFunctionLocked of the name is refused before its work runs', async (t) => {
  let ran = false;
  let release: () => void = () => {};
  const first = withFunctionLocked('lock-b', 'deploy', () => new Promise<void>((resolve) => (release = resolve)));
  await t.throwsAsync(
    withFunctionLocked('lock-b', 'deploy', async () => {
      ran = true;
    }),
    { instanceOf: LambdaError, message: /deploy/ },
  );
  t.false(ran);
  release();
  await first;
  t.false(isLocked('lock-b'));
});

test('the hold is let go when the work throws', async (t) => {
  await t.throwsAsync(withFunctionLocked('lock-c', 'deploy', async () => Promise.reject(new Error('boom'))), { message: 'boom' });
  t.false(isLocked('lock-c'));
  lockFunction('lock-c', 'delete')();
});
