// End to end: a dependency that compiles a C++ addon at install (bcrypt, through node-gyp, whose prebuilt download
// cannot be reached) is built in the install sandbox with the install image's toolchain and Node's headers, and its
// binary loads and runs in the function's image.
import test from 'ava';
import { fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
});

test.after.always(async () => {
  await lambda?.destroy();
});

test.serial('a package that compiles a native addon at install deploys by git push and its addon runs', async (t) => {
  const started = Date.now();
  const push = await lambda.push('addon', fixture('native-addon'));
  t.is(push.code, 0, push.stderr);
  t.log(`push to live, compiling the addon: ${Date.now() - started} ms`);
  t.regex(push.stderr, /Installing dependencies from package\.json \(only registry\.npmjs\.org is reachable\)/);
  t.regex(push.stderr, /added \d+ packages/);
  const invoked = await lambda.api('/api/v1/functions/addon/invoke', { method: 'POST', body: '{"password":"hunter2"}' });
  t.is(invoked.status, 200);
  t.deepEqual(await invoked.json(), { hashPrefix: '$2b$04$', verified: true, rejectsOther: true, binaries: ['napi-v3/bcrypt_lib.node'] });
});
