// Unit tests of the tokens verbs on real SQLite: list shows no secrets, create returns a working key once, revoke refuses the last token.
import anyTest, { type TestFn } from 'ava';
import { LambdaError } from '../errors.js';
import { openStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { bootstrapAdminKey, createKeyVerifier } from './token-check.js';
import { createToken, listTokens, revokeToken } from './tokens.js';

const test = anyTest as TestFn<{ store: Store; admin: string }>;

test.beforeEach((t) => {
  t.context.store = openStore(':memory:');
  t.context.admin = bootstrapAdminKey(t.context.store, undefined).generated as string;
});

test.afterEach.always((t) => {
  t.context.store.close();
});

test('list shows id, name, created and last used, never a key or hash', (t) => {
  const deps = { store: t.context.store };
  const created = createToken(deps, { name: 'ci' });
  const tokens = listTokens(deps);
  t.deepEqual(tokens.map((token) => token.name), ['admin', 'ci']);
  for (const token of tokens) t.deepEqual(Object.keys(token).sort(), ['createdAt', 'function', 'id', 'lastUsedAt', 'name', 'scope']);
  const text = JSON.stringify(tokens);
  t.false(text.includes(created.key));
  t.false(text.includes(t.context.store.tokens.get(created.id)?.hash ?? 'missing'));
});

test('create returns a new working key once; its id is what list and revoke use', async (t) => {
  const deps = { store: t.context.store };
  const created = createToken(deps, { name: '  deploy bot  ' });
  t.like(created, { name: 'deploy bot', lastUsedAt: null });
  t.regex(created.key, /^lambda_[A-Za-z0-9_-]{43}$/);
  t.regex(created.id, /^[0-9a-f]{16}$/);
  t.false(Number.isNaN(Date.parse(created.createdAt)));
  t.true(await createKeyVerifier(t.context.store)(created.key));
  t.true(listTokens(deps).some((token) => token.id === created.id));
  t.not(createToken(deps, {}).key, created.key);
});

test('an invoke token: scope invoke, for every function or one; its key stops at the REST API', async (t) => {
  const deps = { store: t.context.store };
  const any = createToken(deps, { name: 'callers', scope: 'invoke' });
  const one = createToken(deps, { scope: 'invoke', function: 'hello' });
  t.like(any, { scope: 'invoke', function: null });
  t.like(one, { scope: 'invoke', function: 'hello' });
  t.like(listTokens(deps).find((token) => token.id === one.id), { scope: 'invoke', function: 'hello' });
  t.like(createToken(deps, {}), { scope: 'admin', function: null });
  const verify = createKeyVerifier(t.context.store);
  await t.throwsAsync(verify(any.key), { message: /only invokes/ });
  t.true(await verify.invoke(one.key, undefined, 'hello'));
});

test('bad scopes and functions are refused, naming what is wrong', (t) => {
  const deps = { store: t.context.store };
  t.throws(() => createToken(deps, { scope: 'root' }), { message: /scope is "admin" or "invoke", got "root"/ });
  t.throws(() => createToken(deps, { function: 'hello' }), { message: /must have scope "invoke"/ });
  t.throws(() => createToken(deps, { scope: 'invoke', function: 'Bad Name' }), { message: /invalid function name/ });
});

test('invoke tokens do not count as the last token: the last admin key cannot be revoked', (t) => {
  const deps = { store: t.context.store };
  const invoke = createToken(deps, { scope: 'invoke' });
  const [admin] = listTokens(deps);
  t.throws(() => revokeToken(deps, { id: admin?.id ?? '' }), { message: /only admin token left/ });
  t.notThrows(() => revokeToken(deps, { id: invoke.id }));
});

test('a name is optional; without one it is empty', (t) => {
  t.is(createToken({ store: t.context.store }, {}).name, '');
});

const badName = test.macro({
  exec(t, name: string) {
    const error = t.throws(() => createToken({ store: t.context.store }, { name }), { instanceOf: LambdaError });
    t.is(error?.code, 'LAMBDA_ERR_BAD_REQUEST');
    t.is(t.context.store.tokens.count(), 1);
  },
  title: (given = '') => `create refuses the name: ${given}`,
});

test('65 characters', badName, 'x'.repeat(65));
test('a newline', badName, 'a\nb');
test('an escape sequence', badName, '\u001b[31mred');
test('a NUL', badName, 'a\u0000');
test('a line separator', badName, 'a\u2028b');
test('a paragraph separator', badName, 'a\u2029b');
test('a right-to-left override', badName, 'evil\u202egnp.exe');
test('a right-to-left isolate', badName, 'a\u2067b');
test('a zero-width space', badName, 'a\u200bb');
test('a no-break space', badName, 'a\u00a0b');
test('an ideographic space', badName, 'a\u3000b');

test('create keeps plain spaces and letters of any script', (t) => {
  t.is(createToken({ store: t.context.store }, { name: 'déploiement Ωμέγα 部署' }).name, 'déploiement Ωμέγα 部署');
});

test('revoke removes the token and its key stops working at once', async (t) => {
  const deps = { store: t.context.store };
  const verify = createKeyVerifier(t.context.store);
  const created = createToken(deps, { name: 'ci' });
  t.true(await verify(created.key));
  revokeToken(deps, { id: created.id });
  t.false(await verify(created.key));
  t.false(listTokens(deps).some((token) => token.id === created.id));
  t.true(await verify(t.context.admin));
});

test('revoking an unknown id is LAMBDA_ERR_TOKEN_NOT_FOUND', (t) => {
  const error = t.throws(() => revokeToken({ store: t.context.store }, { id: 'nope' }), { instanceOf: LambdaError });
  t.is(error?.code, 'LAMBDA_ERR_TOKEN_NOT_FOUND');
  t.is(error?.message, 'API token "nope" does not exist');
  const hostile = t.throws(() => revokeToken({ store: t.context.store }, { id: `\u001b[2J${'x'.repeat(100)}` }), { instanceOf: LambdaError });
  t.false(hostile?.message.includes('\u001b'));
  t.true((hostile?.message.length ?? 0) < 80);
});

test('the last token cannot be revoked: LAMBDA_ERR_LAST_TOKEN, and it keeps working', async (t) => {
  const deps = { store: t.context.store };
  const [admin] = listTokens(deps);
  const error = t.throws(() => revokeToken(deps, { id: admin?.id ?? '' }), { instanceOf: LambdaError });
  t.is(error?.code, 'LAMBDA_ERR_LAST_TOKEN');
  t.is(error?.kind, 'conflict');
  t.true(await createKeyVerifier(t.context.store)(t.context.admin));

  // With a second token, the first can go; then the second is the last.
  const second = createToken(deps, { name: 'second' });
  revokeToken(deps, { id: admin?.id ?? '' });
  t.throws(() => revokeToken(deps, { id: second.id }), { instanceOf: LambdaError, message: /only admin token left/ });
});
