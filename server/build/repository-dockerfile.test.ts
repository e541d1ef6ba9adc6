// The docker runtime's Dockerfile check: FROM the platform's base images, scratch or an earlier stage only.
import test from 'ava';
import { baseRuntimes } from './repository-dockerfile.js';
import { LambdaError } from '../errors.js';

const RUNTIMES = ['node20', 'python3'];

const allowed = test.macro({
  exec(t, text: string, expected: string[]) {
    t.deepEqual(baseRuntimes(text, RUNTIMES), expected);
  },
  title: (label = '') => `allowed: ${label}`,
});

const refused = test.macro({
  exec(t, text: string, expected: RegExp) {
    const error = t.throws(() => baseRuntimes(text, RUNTIMES), { instanceOf: LambdaError });
    t.is(error?.code, 'LAMBDA_ERR_BUILD_FAILED');
    t.regex(String(error?.message), expected);
  },
  title: (label = '') => `refused: ${label}`,
});

test('a runtime base', allowed, 'FROM lambda/python3\nCMD ["python3"]\n', ['python3']);
test('a base with :latest and a platform flag', allowed, 'FROM --platform=linux/amd64 lambda/node20:latest\n', ['node20']);
test('multi-stage with scratch and stage references', allowed, 'FROM lambda/python3 AS build\nRUN true\nFROM scratch\nCOPY --from=build /usr /usr\nCOPY --from=0 /etc /etc\n', ['python3']);
test('lower-case instructions and continuations', allowed, 'from \\\n  lambda/node20\n# FROM busybox (a comment)\n', ['node20']);

test('a registry image', refused, 'FROM debian:bookworm\n', /line 1: FROM "debian:bookworm" is not available/);
test('another function\'s image', refused, '\n\nFROM lambda/greet:3f283f1a6a20\n', /line 3: FROM "lambda\/greet:3f283f1a6a20"/);
test('a runtime alias with another tag', refused, 'FROM lambda/python3:3.12\n', /is not available/);
test('the docker runtime itself', refused, 'FROM lambda/docker\n', /is not available/);
test('a variable', refused, 'ARG BASE=lambda/python3\nFROM ${BASE}\n', /line 2: FROM must name an image, not a variable/);
test('COPY --from an image', refused, 'FROM lambda/python3\nCOPY --from=lambda/greet:3f283f1a6a20 /var/task /x\n', /line 2: COPY --from may name an earlier stage only/);
test('ADD --from a later stage number', refused, 'FROM lambda/python3\nADD --from=1 /x /y\nFROM scratch\n', /line 2: ADD --from may name an earlier stage only/);
test('a stage used before it is named', refused, 'FROM later\nFROM lambda/python3 AS later\n', /line 1: FROM "later" is not available/);
test('no FROM', refused, '# nothing\n', /has no FROM line/);
test('an escape directive', refused, '# escape=`\nFROM lambda/python3\n', /escape parser directive is not supported/);
