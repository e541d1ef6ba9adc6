// lambda.yaml per runtime: python3 handlers are module.function with Python names; docker and go take no handler.
import test from 'ava';
import { parseManifest } from './manifest.js';
import { LambdaError } from '../errors.js';

const valid = test.macro({
  exec(t, text: string, handler: string | undefined) {
    t.is(parseManifest(text).handler, handler);
  },
  title: (label = '') => `valid: ${label}`,
});

const invalid = test.macro({
  exec(t, text: string, expected: RegExp) {
    const error = t.throws(() => parseManifest(text), { instanceOf: LambdaError });
    t.is(error?.code, 'LAMBDA_ERR_MANIFEST_INVALID');
    t.regex(String(error?.message), expected);
  },
  title: (label = '') => `invalid: ${label}`,
});

test('python3 module.function', valid, 'runtime: python3\nhandler: app.handler\n', 'app.handler');
test('python3 in a folder', valid, 'runtime: python3\nhandler: pkg/sub/mod.handle_it\n', 'pkg/sub/mod.handle_it');
test('python3 in a package', valid, 'runtime: python3\nhandler: pkg.mod.handler\n', 'pkg.mod.handler');
test('docker without a handler', valid, 'runtime: docker\nmemory: 128Mi\n', undefined);
test('go without a handler', valid, 'runtime: go\ntimeout: 5s\n', undefined);

test('python3 without a handler', invalid, 'runtime: python3\n', /handler: is required for runtime python3/);
test('python3 with a dash in the module', invalid, 'runtime: python3\nhandler: my-app.handler\n', /line 2: handler: expected "module\.function" with Python names/);
test('python3 module starting with a digit', invalid, 'runtime: python3\nhandler: 1app.handler\n', /line 2: handler: expected "module\.function"/);
test('python3 with an empty package part', invalid, 'runtime: python3\nhandler: pkg..handler\n', /handler: expected "module\.function"/);
test('python3 escaping the repository', invalid, 'runtime: python3\nhandler: ../app.handler\n', /handler: expected/);
test('go with a handler', invalid, 'runtime: go\nhandler: main.handler\n', /line 2: handler: is not used by runtime go: the repository's package main is the function/);
test('docker with a handler', invalid, 'runtime: docker\nhandler: index.handler\n', /line 2: handler: is not used by runtime docker/);
test('node20 keeps dashes in file names', valid, 'runtime: node20\nhandler: my-app.handler\n', 'my-app.handler');
test("AWS's node runtime name, with the one to write", invalid, 'runtime: nodejs20.x\nhandler: index.handler\n', /got "nodejs20\.x" \(did you mean "node20"\?\)/);
test("AWS's python runtime name, with the one to write", invalid, 'runtime: python3.12\nhandler: app.handler\n', /\(did you mean "python3"\?\)/);
test("AWS's custom runtime, with go", invalid, 'runtime: provided.al2023\n', /\(did you mean "go"\?\)/);
test('another runtime name, with no guess', invalid, 'runtime: ruby3.3\n', /got "ruby3\.3"$/m);
