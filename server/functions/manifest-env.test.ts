// Unit tests of the manifest's env rules: the `name:` key, and env names that change how the runtime starts.
import test from 'ava';
import { LambdaError } from '../errors.js';
import { parseManifest } from './manifest.js';
import { reservedEnvReason } from './env-names.js';

const BASE = 'runtime: node20\nhandler: index.handler\n';

for (const key of ['NODE_OPTIONS', 'PATH', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'PYTHONPATH', 'PYTHONSTARTUP', 'LAMBDA_TASK_ROOT', 'AWS_ACCESS_KEY_ID', 'node_options', 'Path', '__proto__']) {
  test(`lambda.yaml refuses env ${key}, naming the key and line`, (t) => {
    const error = t.throws(() => parseManifest(`${BASE}env:\n  OK: 1\n  ${key}: x\n`), { instanceOf: LambdaError });
    t.is(error?.code, 'LAMBDA_ERR_MANIFEST_INVALID');
    t.deepEqual((error?.details as { problems: string[] }).problems, [`line 5: env.${key}: ${reservedEnvReason(key)}`]);
  });
}

for (const key of ['NODE_ENV', 'PATHNAME', 'MY_PATH', 'LDAP_URL', 'PY_VERSION', 'GREETING']) {
  test(`lambda.yaml accepts env ${key}`, (t) => {
    t.deepEqual(parseManifest(`${BASE}env:\n  ${key}: x\n`).env, { [key]: 'x' });
    t.is(reservedEnvReason(key), undefined);
  });
}

test('name: is a function name, optional', (t) => {
  t.is(parseManifest(`name: greet-2\n${BASE}`).name, 'greet-2');
  t.is(parseManifest(BASE).name, undefined);
  for (const bad of ['Greet', '../etc', '-x', '"a b"', '1abc', '[x]']) {
    const error = t.throws(() => parseManifest(`${BASE}name: ${bad}\n`), { instanceOf: LambdaError }, bad);
    t.regex((error?.details as { problems: string[] }).problems[0] ?? '', /^line 3: name: expected a function name/, bad);
  }
});
