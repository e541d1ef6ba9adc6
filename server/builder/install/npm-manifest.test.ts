// The server's reading of a function's package.json and lock file before an install: its own scripts and
// workspaces gone, local dependencies refused by name, lock entries leading outside the folder refused.
import test from 'ava';
import { LambdaError } from '../../errors.js';
import { isLocalSpec, npmInputs } from './npm-manifest.js';

const inputs = (files: Record<string, unknown>) => new Map(Object.entries(files).map(([name, value]) => [name, Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))]));
const manifestOf = (result: Map<string, Buffer>) => JSON.parse(result.get('package.json')?.toString('utf8') ?? 'null') as Record<string, unknown>;

function refusal(t: { throws: (fn: () => unknown, expectations: { instanceOf: typeof LambdaError }) => LambdaError | undefined }, files: Record<string, unknown>): string {
  const error = t.throws(() => npmInputs(inputs(files)), { instanceOf: LambdaError });
  return error?.code === 'LAMBDA_ERR_BUILD_FAILED' ? error.message : `not a build failure: ${error?.code}`;
}

test("the function's own scripts and workspaces are removed; the rest is kept as it was", (t) => {
  const manifest = { name: 'x', version: '1.0.0', scripts: { preinstall: 'evil', postinstall: 'evil', prepare: 'evil' }, workspaces: ['../../lambda-install/*'], dependencies: { ms: '^2.1.3', alias: 'npm:ms@2.1.3', scoped: 'npm:@types/node@20' }, overrides: { ms: '2.1.3' } };
  const result = npmInputs(inputs({ 'package.json': manifest, 'package-lock.json': '{"lockfileVersion":3}' }));
  t.deepEqual(manifestOf(result), { name: 'x', version: '1.0.0', dependencies: manifest.dependencies, overrides: manifest.overrides });
  t.is(result.get('package-lock.json')?.toString(), '{"lockfileVersion":3}');
});

test('a byte order mark does not hide the scripts from the server (npm drops it too)', (t) => {
  const result = npmInputs(inputs({ 'package.json': `\uFEFF${JSON.stringify({ scripts: { postinstall: 'evil' }, dependencies: { ms: '1' } })}` }));
  t.deepEqual(manifestOf(result), { dependencies: { ms: '1' } });
});

test('a package.json npm cannot parse is passed on unchanged: npm reports it and runs nothing from it', (t) => {
  const broken = '{ "dependencies": { "ms": "2.1.3", } }';
  t.is(npmInputs(inputs({ 'package.json': broken })).get('package.json')?.toString(), broken);
});

test('attack: a dependency on the install folder itself (its unstripped package.json) is refused, naming it', (t) => {
  const message = refusal(t, { 'package.json': { dependencies: { evil: 'file:/lambda-install/inputs' }, scripts: { postinstall: 'evil' } } });
  t.is(message, 'the image build failed: package.json: the dependency "evil" is a local path ("file:/lambda-install/inputs"): the install holds package.json and the lock file, no other file, so every dependency comes from the registry');
});

test('every local form and every dependency field is refused', (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ['dependencies', { a: 'link:../x' }],
    ['devDependencies', { a: './vendor/a' }],
    ['optionalDependencies', { a: '../a.tgz' }],
    ['peerDependencies', { a: '/abs/path' }],
    ['dependencies', { a: '~/a' }],
    ['dependencies', { a: 'npm:b@file:../b' }],
    ['overrides', { b: { a: 'file:../a' } }],
    ['overrides', { a: { '.': 'file:../a' } }],
  ];
  for (const [field, specs] of cases) t.regex(refusal(t, { 'package.json': { [field]: specs } }), /the dependency "a" is a local path/, `${field} ${JSON.stringify(specs)}`);
});

test('what npm reads as a folder or tarball on disk is local; registry versions, tags and URLs are not', (t) => {
  for (const spec of ['file:x', 'FILE:/x', ' file:x', 'link:x', 'portal:x', '.', './x', '../x', '/x', '\\x', '~/x', 'C:\\x', 'c:/x', 'x.tgz', 'x.tar.gz', 'x.tar', 'npm:y@file:x', 'npm:@s/y@./x']) {
    t.true(isLocalSpec(spec), spec);
  }
  for (const spec of ['1.0.0', '^1', '>=1 <2', 'latest', '*', '', 'npm:y@1', 'npm:@s/y@^2', 'https://registry.example/x.tgz', 'git+https://x/y.git', 'user/repo']) {
    t.false(isLocalSpec(spec), spec);
  }
});

test('attack: a lock file linking or resolving outside the folder is refused; a monorepo link inside it is not', (t) => {
  const v3 = (packages: Record<string, unknown>) => ({ 'package.json': { dependencies: { evil: '1.0.0' } }, 'package-lock.json': { lockfileVersion: 3, packages: { '': {}, ...packages } } });
  t.regex(refusal(t, v3({ 'node_modules/evil': { resolved: '../../lambda-install/inputs', link: true } })), /^the image build failed: package-lock\.json: "node_modules\/evil" leads outside the function's folder \("\.\.\/\.\.\/lambda-install\/inputs"\)/);
  t.regex(refusal(t, v3({ '../../lambda-install/inputs': { name: 'evil' } })), /"\.\.\/\.\.\/lambda-install\/inputs" leads outside/);
  t.regex(refusal(t, v3({ 'node_modules/evil': { resolved: 'file:/lambda-install/inputs' } })), /leads outside/);
  t.regex(refusal(t, v3({ 'node_modules/evil': { resolved: 'file:packages/../../x.tgz' } })), /leads outside/);
  const shrinkwrap = { 'package.json': { dependencies: { evil: '1.0.0' } }, 'npm-shrinkwrap.json': { lockfileVersion: 1, dependencies: { ok: { version: '1.0.0', dependencies: { evil: { version: 'file:/lambda-install/inputs' } } } } } };
  t.regex(refusal(t, shrinkwrap), /^the image build failed: npm-shrinkwrap\.json: the dependency "evil" leads outside/);

  const monorepo = v3({ 'node_modules/a': { resolved: 'packages/a', link: true }, 'packages/a': { name: 'a' }, 'node_modules/ms': { resolved: 'https://registry.npmjs.org/ms/-/ms-2.1.3.tgz' } });
  t.notThrows(() => npmInputs(inputs(monorepo)));
});

test('names and specs in a refusal are quoted and cut: no escape sequence reaches the pusher raw', (t) => {
  const message = refusal(t, { 'package.json': { dependencies: { [`\x1b[31mred${'x'.repeat(300)}`]: 'file:.' } } });
  t.false(message.includes('\x1b'));
  t.regex(message, /"\\u001b\[31mredx+…" is a local path/);
});
