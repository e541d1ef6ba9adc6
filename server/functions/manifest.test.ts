// Unit tests of lambda.yaml parsing: a full manifest, defaults, and every kind of bad input naming its key and line.
import test from 'ava';
import { LambdaError } from '../errors.js';
import { errorLines } from '../logs/progress-text.js';
import { MANIFEST_MAX_BYTES, duration, memory, parseManifest } from './manifest.js';

const MIB = 1024 * 1024;
const BASE = 'runtime: node20\nhandler: index.handler\n';

const INVALID = { instanceOf: LambdaError, code: 'LAMBDA_ERR_MANIFEST_INVALID' } as const;

test('a manifest with every key parses to the right values', (t) => {
  const manifest = parseManifest(
    [
      'runtime: node20            # node20 | python3 | docker',
      'handler: src/index.handler',
      'timeout: 30s',
      'memory: 512Mi',
      'concurrency: 16',
      'minInstances: 1',
      'maxInstances: 6',
      'auth: key',
      'env: { GREETING: Hello, PORT: 8080, DEBUG: true }',
      'schedules:',
      '  - cron: "*/5 * * * *"',
      '    payload: { job: report, ids: [1, 2] }',
      '    overlap: allow',
      '  - cron: "0 */2 * * * *"',
      '',
    ].join('\n'),
  );
  t.deepEqual(manifest, {
    runtime: 'node20',
    handler: 'src/index.handler',
    timeoutMs: 30_000,
    memoryBytes: 512 * MIB,
    concurrency: 16,
    minInstances: 1,
    maxInstances: 6,
    auth: 'key',
    env: { GREETING: 'Hello', PORT: '8080', DEBUG: 'true' },
    schedules: [
      { cron: '*/5 * * * *', payload: { job: 'report', ids: [1, 2] }, overlap: 'allow' },
      { cron: '0 */2 * * * *', overlap: 'skip' },
    ],
  });
});

test('only runtime and handler given: every other key takes its default', (t) => {
  t.deepEqual(parseManifest(BASE), {
    runtime: 'node20',
    handler: 'index.handler',
    timeoutMs: 10_000,
    memoryBytes: 256 * MIB,
    concurrency: 8,
    minInstances: 0,
    maxInstances: 4,
    env: {},
    schedules: [],
    auth: 'none',
  });
});

test('runtime docker needs no handler', (t) => {
  const manifest = parseManifest('runtime: docker\n');
  t.is(manifest.runtime, 'docker');
  t.is(manifest.handler, undefined);
});

test('a python handler may name a dotted module', (t) => {
  t.is(parseManifest('runtime: python3\nhandler: app.main.handler\n').handler, 'app.main.handler');
});

test('timeout and memory accept bare numbers (seconds, MiB) and every unit', (t) => {
  t.is(parseManifest(`${BASE}timeout: 2\n`).timeoutMs, 2000);
  t.is(parseManifest(`${BASE}timeout: 250ms\n`).timeoutMs, 250);
  t.is(parseManifest(`${BASE}timeout: 15m\n`).timeoutMs, 900_000);
  t.is(parseManifest(`${BASE}memory: 128\n`).memoryBytes, 128 * MIB);
  t.is(parseManifest(`${BASE}memory: 1Gi\n`).memoryBytes, 1024 * MIB);
  t.is(parseManifest(`${BASE}memory: 512M\n`).memoryBytes, 512_000_000);
});

const refused = test.macro({
  exec(t, text: string, key: string, line: number) {
    const error = t.throws(() => parseManifest(text), INVALID);
    t.is(error.kind, 'invalid');
    t.true(error.message.includes(`${key}:`), `message names ${key}: ${error.message}`);
    t.true(error.message.includes(`line ${line}:`), `message names line ${line}: ${error.message}`);
  },
  title: (provided = '', text: string) => `refuses ${provided || JSON.stringify(text)}`,
});

test('timeout as a list', refused, `${BASE}timeout: [1]\n`, 'timeout', 3);
test('concurrency as a word', refused, `${BASE}concurrency: "many"\n`, 'concurrency', 3);
test('concurrency as a fraction', refused, `${BASE}concurrency: 1.5\n`, 'concurrency', 3);
test('concurrency of zero', refused, `${BASE}concurrency: 0\n`, 'concurrency', 3);
test('a duration with no unit word', refused, `${BASE}timeout: ten\n`, 'timeout', 3);
test('a timeout in hours', refused, `${BASE}timeout: 10h\n`, 'timeout', 3);
test('an idleTimeout as a word', refused, `${BASE}idleTimeout: soon\n`, 'idleTimeout', 3);
test('an idleTimeout over 24h', refused, `${BASE}idleTimeout: 25h\n`, 'idleTimeout', 3);
test('a duration over 15 minutes', refused, `${BASE}timeout: 16m\n`, 'timeout', 3);
test('a negative duration', refused, `${BASE}timeout: -5\n`, 'timeout', 3);
test('an empty timeout', refused, `${BASE}timeout:\n`, 'timeout', 3);
test('memory as a word', refused, `${BASE}memory: lots\n`, 'memory', 3);
test('memory in kilobytes', refused, `${BASE}memory: 256Ki\n`, 'memory', 3);
test('memory below 32Mi', refused, `${BASE}memory: 16Mi\n`, 'memory', 3);
test('memory above 16Gi', refused, `${BASE}memory: 17Gi\n`, 'memory', 3);
test('an unknown runtime', refused, 'runtime: ruby\nhandler: index.handler\n', 'runtime', 1);
test('an empty runtime', refused, 'runtime:\nhandler: index.handler\n', 'runtime', 1);
test('a handler climbing out of the repository', refused, 'runtime: node20\nhandler: ../x.handler\n', 'handler', 2);
test('a handler with an absolute path', refused, 'runtime: node20\nhandler: /etc/passwd.handler\n', 'handler', 2);
test('a handler through a "." segment', refused, 'runtime: node20\nhandler: a/./b.handler\n', 'handler', 2);
test('a handler without an export', refused, 'runtime: node20\nhandler: index\n', 'handler', 2);
test('a handler whose export is not an identifier', refused, 'runtime: node20\nhandler: index.my-handler\n', 'handler', 2);
test('a handler given as a number', refused, 'runtime: node20\nhandler: 12\n', 'handler', 2);
test('a cron with 4 fields', refused, `${BASE}schedules:\n  - cron: "* * * *"\n`, 'schedules[0].cron', 4);
test('a cron with 7 fields', refused, `${BASE}schedules:\n  - cron: "* * * * * * *"\n`, 'schedules[0].cron', 4);
test('a cron with a shell character', refused, `${BASE}schedules:\n  - cron: "* * * * $(id)"\n`, 'schedules[0].cron', 4);
test('a cron minute out of range', refused, `${BASE}schedules:\n  - cron: "61 * * * *"\n`, 'schedules[0].cron', 4);
test('a cron that never fires', refused, `${BASE}schedules:\n  - cron: "0 0 30 2 *"\n`, 'schedules[0].cron', 4);
test('a bad cron field is named by the cron library', (t) => {
  const error = t.throws(() => parseManifest(`${BASE}schedules:\n  - cron: "0 25 * * *"\n`)) as LambdaError;
  t.regex(error.message, /schedules\[0\]\.cron: .*Invalid value for hour: 25/);
});
test('a schedule without a cron', refused, `${BASE}schedules:\n  - payload: 1\n`, 'schedules[0].cron', 4);
test('a bad overlap', refused, `${BASE}schedules:\n  - cron: "* * * * *"\n    overlap: queue\n`, 'schedules[0].overlap', 5);
test('schedules as a mapping', refused, `${BASE}schedules:\n  cron: "* * * * *"\n`, 'schedules', 4);
test('a reserved LAMBDA_ variable', refused, `${BASE}env:\n  LAMBDA_X: 1\n`, 'env.LAMBDA_X', 4);
test('a reserved AWS_ variable', refused, `${BASE}env:\n  AWS_REGION: eu\n`, 'env.AWS_REGION', 4);
test('an env name that is not a variable name', refused, `${BASE}env:\n  "A-B": 1\n`, 'env.A-B', 4);
test('an env value that is a list', refused, `${BASE}env:\n  A: [1]\n`, 'env.A', 4);
test('env as a list', refused, `${BASE}env:\n  - A=1\n`, 'env', 4);
test('minInstances above maxInstances', refused, `${BASE}maxInstances: 2\nminInstances: 3\n`, 'minInstances', 4);
test('minInstances above the default maxInstances', refused, `${BASE}minInstances: 5\n`, 'minInstances', 3);
test('an unknown auth', refused, `${BASE}auth: basic\n`, 'auth', 3);

test('every problem is reported at once, each with its own line', (t) => {
  const error = t.throws(() => parseManifest(`${BASE}timeout: ten\nmemory: lots\ncolour: blue\n`), INVALID);
  t.deepEqual(error.details.problems, [
    'line 3: timeout: expected a duration from 1ms to 15m such as "10s" or "500ms", got "ten"',
    'line 4: memory: expected a size from 32Mi to 16Gi such as "256Mi", got "lots"',
    `line 5: unknown key "colour" (allowed: runtime, handler, timeout, memory, idleTimeout, concurrency, minInstances, maxInstances, env, schedules, auth, name)`,
  ]);
});

// An unknown key names itself and the key it is nearest to (a typo, another case, snake_case), or else every key allowed there.
const unknownKey = test.macro({
  exec(t, text: string, problem: string) {
    const error = t.throws(() => parseManifest(text), INVALID);
    t.is((error.details.problems as string[])[0], problem);
  },
  title: (_provided, text: string) => `an unknown key is named with the nearest one: ${JSON.stringify(text.replace(BASE, ''))}`,
});

const ALLOWED = 'runtime, handler, timeout, memory, idleTimeout, concurrency, minInstances, maxInstances, env, schedules, auth, name';
const CRON = `${BASE}schedules:\n  - cron: "* * * * *"\n`;
for (const [text, problem] of [
  [`${BASE}timout: 5s\n`, 'line 3: unknown key "timout" (did you mean "timeout"?)'],
  [`${BASE}memroy: 128Mi\n`, 'line 3: unknown key "memroy" (did you mean "memory"?)'],
  [`${BASE}maxinstances: 2\n`, 'line 3: unknown key "maxinstances" (did you mean "maxInstances"?)'],
  [`${BASE}idle_timeout: 5m\n`, 'line 3: unknown key "idle_timeout" (did you mean "idleTimeout"?)'],
  [`${BASE}concurency: 2\n`, 'line 3: unknown key "concurency" (did you mean "concurrency"?)'],
  [`${BASE}enviroment: {}\n`, `line 3: unknown key "enviroment" (allowed: ${ALLOWED})`],
  [`${BASE}colour: blue\n`, `line 3: unknown key "colour" (allowed: ${ALLOWED})`],
  [`runtime: node20\nhandlr: index.handler\n`, 'line 2: unknown key "handlr" (did you mean "handler"?)'],
  [`${CRON}    overlpa: allow\n`, 'line 5: unknown key "schedules[0].overlpa" (did you mean "overlap"?)'],
  [`${CRON}    paylod: 1\n`, 'line 5: unknown key "schedules[0].paylod" (did you mean "payload"?)'],
  [`${CRON}    every: 5m\n`, 'line 5: unknown key "schedules[0].every" (allowed: cron, payload, overlap)'],
] as const) {
  test(unknownKey, text, problem);
}

test('a nested key that is a typo of the one required is suggested, and the missing one still reported', (t) => {
  const error = t.throws(() => parseManifest(`${BASE}schedules:\n  - crn: "* * * * *"\n`), INVALID);
  t.deepEqual(error.details.problems, ['line 4: unknown key "schedules[0].crn" (did you mean "cron"?)', 'line 4: schedules[0].cron: is required']);
});

// Every place a manifest problem is shown (the error's message, a push's lines) writes it as "lambda.yaml: line N: …".
const oneFormat = test.macro({
  exec(t, text: string, first: string) {
    const error = t.throws(() => parseManifest(text), INVALID);
    t.true(error.message.startsWith(`lambda.yaml: ${first}`), error.message);
    const lines = errorLines(error).map((line) => line.text);
    t.true(lines[0]?.startsWith(` !     lambda.yaml: ${first}`), lines[0]);
    t.true(lines.at(-1)?.endsWith(' (LAMBDA_ERR_MANIFEST_INVALID)'));
    for (const line of lines) t.regex(line, /^ ! {5}lambda\.yaml: (line \d+: )?\S/);
  },
  title: (_provided, text: string) => `one format for ${JSON.stringify(text)}`,
});

test(oneFormat, `${BASE}timeout: ten\n`, 'line 3: timeout: expected a duration');
test(oneFormat, `${BASE}timout: 5s\nmemory: lots\n`, 'line 3: unknown key "timout" (did you mean "timeout"?)');
test(oneFormat, 'runtime: node20\nruntime: python3\nhandler: index.handler\n', 'line 2: not valid YAML');
test(oneFormat, 'handler: index.handler\n', 'runtime: is required');

// A missing key has no line of its own, so only the key is asserted for these.
const missing = test.macro({
  exec(t, text: string, key: string) {
    const error = t.throws(() => parseManifest(text), INVALID);
    t.true(error.message.includes(`${key}: is required`), error.message);
  },
  title: (provided = '') => `refuses a manifest without ${provided}`,
});

test('runtime', missing, 'handler: index.handler\n', 'runtime');
test('handler for node20', missing, 'runtime: node20\n', 'handler');
test('handler for python3', missing, 'runtime: python3\ntimeout: 5s\n', 'handler');

const refusedWhole = test.macro({
  exec(t, text: string, expected: RegExp) {
    const error = t.throws(() => parseManifest(text), INVALID);
    t.regex(error.message, expected);
  },
  title: (provided = '') => `refuses ${provided}`,
});

test('text that is not YAML', refusedWhole, ': : :\n\t- [', /^lambda\.yaml: line 1: not valid YAML/);
test('a duplicated key', refusedWhole, 'runtime: node20\nruntime: python3\nhandler: index.handler\n', /line 2: not valid YAML \(Map keys must be unique\)/);
test('an unclosed flow list', refusedWhole, `${BASE}timeout: [1\n`, /line \d+: not valid YAML/);
test('a YAML list at the top level', refusedWhole, '- runtime: node20\n- handler: index.handler\n', /expected a mapping/);
test('a lone scalar', refusedWhole, 'node20\n', /expected a mapping/);
test('an empty file', refusedWhole, '', /expected a mapping/);

const durations = test.macro({
  exec(t, input: unknown, expected: number | undefined) {
    t.is(duration(input), expected);
  },
  title: (_provided, input: unknown, expected: number | undefined) => `duration(${JSON.stringify(input)}) is ${String(expected)}`,
});

test(durations, '10s', 10_000);
test(durations, '500ms', 500);
test(durations, '2m', 120_000);
test(durations, '1.5s', 1500);
test(durations, ' 3s ', 3000);
test(durations, 5, 5000);
test(durations, 0.25, 250);
test(durations, 0, undefined);
test(durations, -1, undefined);
test(durations, '10h', 36_000_000);
test(durations, '10d', undefined);
test(durations, 'ten', undefined);
test(durations, '10', undefined);
test(durations, '-5s', undefined);
test(durations, '', undefined);
test(durations, null, undefined);
test(durations, true, undefined);
test(durations, [10], undefined);

const sizes = test.macro({
  exec(t, input: unknown, expected: number | undefined) {
    t.is(memory(input), expected);
  },
  title: (_provided, input: unknown, expected: number | undefined) => `memory(${JSON.stringify(input)}) is ${String(expected)}`,
});

test(sizes, '256Mi', 256 * MIB);
test(sizes, '1Gi', 1024 * MIB);
test(sizes, '512M', 512_000_000);
test(sizes, '2G', 2_000_000_000);
test(sizes, ' 64Mi ', 64 * MIB);
test(sizes, 128, 128 * MIB);
test(sizes, 1.5, undefined);
test(sizes, '1.5Gi', undefined);
test(sizes, '256', undefined);
test(sizes, '256mi', undefined);
test(sizes, '256Ki', undefined);
test(sizes, 'lots', undefined);
test(sizes, null, undefined);
test(sizes, {}, undefined);

// A hostile manifest costs little and makes a short error: refused by size before parsing, long keys and values cut
// (a key over 1024 characters is written `? key`, as YAML asks), no near key looked for in a long one, at most 20
// problems and a count of the rest.
test('a manifest over 64 KiB is refused by its size, naming the size and the limit', (t) => {
  const text = `${BASE}# ${'x'.repeat(70_000)}\n`;
  const error = t.throws(() => parseManifest(text), INVALID);
  const bytes = Buffer.byteLength(text);
  t.is(error.message, `lambda.yaml: is ${bytes} bytes, over the limit of 65536 bytes (64 KiB)`);
  t.like(error.details, { bytes, limit: MANIFEST_MAX_BYTES });
});

test('a manifest of exactly 64 KiB is read', (t) => {
  const padding = MANIFEST_MAX_BYTES - Buffer.byteLength(BASE) - 3;
  t.is(parseManifest(`${BASE}# ${'x'.repeat(padding)}\n`).runtime, 'node20');
});

const LONG = 'k'.repeat(100_000 / 2);
const CUT = `${'k'.repeat(64)}…`;
for (const [title, text, problem] of [
  ['a key of 50,000 characters is cut at 64, with every allowed key', `${BASE}? ${LONG}\n: 1\n`, `line 3: unknown key "${CUT}" (allowed: ${ALLOWED})`],
  ['a key of 33 characters near none is not compared', `${BASE}${'timeout'.repeat(5).slice(0, 33)}: 1\n`, `line 3: unknown key "${'timeout'.repeat(5).slice(0, 33)}" (allowed: ${ALLOWED})`],
  ['a key of 32 characters is still compared', `${BASE}${'t'.repeat(25)}timeout: 1\n`, `line 3: unknown key "${'t'.repeat(25)}timeout" (allowed: ${ALLOWED})`],
  ['a nested key of 50,000 characters is cut', `${CRON}    ? ${LONG}\n    : 1\n`, `line 5: unknown key "schedules[0].${'k'.repeat(51)}…" (allowed: cron, payload, overlap)`],
  ['a long env name is cut', `${BASE}env:\n  ? ${LONG}-\n  : 1\n`, `line 4: env.${'k'.repeat(60)}…: is not a valid variable name`],
  ['a long value is cut', `${BASE}auth: ${LONG}\n`, `line 3: auth: expected none or key, got "${'k'.repeat(63)}…`],
  ['a long key with control characters is cut, then escaped', `${BASE}? "\\e[2J${LONG}"\n: 1\n`, `line 3: unknown key "\\x1b[2J${'k'.repeat(60)}…" (allowed: ${ALLOWED})`],
] as const) {
  test(`hostile manifest: ${title}`, (t) => {
    const error = t.throws(() => parseManifest(text), INVALID);
    const problems = error.details.problems as string[];
    t.true(problems[0]?.startsWith(problem), problems[0]);
    t.true(error.message.length < 400, `a short message: ${error.message.length} characters`);
  });
}

test('a manifest with 2,000 unknown keys lists 20 problems and counts the rest', (t) => {
  const keys = Array.from({ length: 2000 }, (_, i) => `    crn${i}: 1\n`).join('');
  const error = t.throws(() => parseManifest(`${CRON}${keys}`), INVALID);
  const problems = error.details.problems as string[];
  t.is(problems.length, 21);
  t.is(problems[0], 'line 5: unknown key "schedules[0].crn0" (allowed: cron, payload, overlap)');
  t.is(problems[20], '… and 1980 more');
  t.true(error.message.length < 2000, `a short message: ${error.message.length} characters`);
  t.true(errorLines(error).every((line) => line.text.length < 200));
});
