// Unit tests of render.ts: deploy progress, tables and error lines, character for character.
import test from 'ava';
import type { FunctionSummary } from './verbs/list.js';
import { initialDeployState, renderDeployEvent, renderError, renderFunctionsTable, type DeployRenderEvent } from './render.js';

function renderAll(events: readonly DeployRenderEvent[]): { stdout: string; stderr: string } {
  let state = initialDeployState;
  let stdout = '';
  let stderr = '';
  for (const event of events) {
    const rendered = renderDeployEvent(state, event);
    state = rendered.state;
    for (const write of rendered.writes) {
      if (write.stream === 'stdout') stdout += write.text;
      else stderr += write.text;
    }
  }
  return { stdout, stderr };
}

const deployment = { name: 'greet', version: 3, sha: '3f2c1a9b7e01'.padEnd(40, '0'), image: 'lambda/greet:3f2c1a9b7e01', url: 'http://greet.localhost:8080' };

test('a successful deploy renders the three stages exactly', (t) => {
  const { stdout, stderr } = renderAll([
    { type: 'packing' },
    { type: 'uploaded' },
    { type: 'step', phase: 'manifest', text: 'Reading lambda.yaml (runtime node20, handler index.handler)' },
    { type: 'step', phase: 'build', text: 'Building image', image: 'lambda/greet:3f2c1a9b7e01' },
    { type: 'detail', text: 'Step 1/4 : FROM lambda-base/node20' },
    { type: 'detail', text: 'Successfully built 1234' },
    { type: 'step', phase: 'start', text: 'Starting greet v3' },
    { type: 'step', phase: 'live', text: 'Live', url: 'http://greet.localhost:8080' },
    { type: 'result', ok: true, deployment },
  ]);
  t.is(
    stdout,
    [
      '[1/3] Packaging function code... Done.',
      '[2/3] Building image "lambda/greet:3f2c1a9b7e01"...',
      '       Step 1/4 : FROM lambda-base/node20',
      '       Successfully built 1234',
      '[3/3] Starting container... Done.',
      'Your function is live at: http://greet.localhost:8080',
      '',
    ].join('\n'),
  );
  t.is(stderr, '');
});

test('detail while the container starts is left out; a warning starts its own line', (t) => {
  const { stdout, stderr } = renderAll([
    { type: 'packing' },
    { type: 'uploaded' },
    { type: 'step', phase: 'start', text: 'Starting' },
    { type: 'detail', text: 'healthy in 230 ms' },
    { type: 'warn', text: 'slow start' },
    { type: 'step', phase: 'live', text: 'Live' },
    { type: 'result', ok: true, deployment },
  ]);
  t.is(
    stdout,
    [
      '[1/3] Packaging function code... Done.',
      '[3/3] Starting container...',
      '       Done.',
      'Your function is live at: http://greet.localhost:8080',
      '',
    ].join('\n'),
  );
  t.is(stderr, ' !     slow start\n');
});

test('a live step without a start step still shows stage 3, and the url is printed once', (t) => {
  const { stdout } = renderAll([
    { type: 'step', phase: 'live', text: 'Live', url: 'http://a.localhost:8080' },
    { type: 'result', ok: true, deployment: { ...deployment, url: 'http://a.localhost:8080' } },
  ]);
  t.is(stdout, '[3/3] Starting container... Done.\nYour function is live at: http://a.localhost:8080\n');
});

test('a failed result closes the open line and prints nothing else', (t) => {
  const { stdout, stderr } = renderAll([
    { type: 'packing' },
    { type: 'uploaded' },
    { type: 'step', phase: 'start', text: 'Starting' },
    { type: 'result', ok: false, error: { code: 'LAMBDA_ERR_HEALTHCHECK_FAILED', message: 'no answer' } },
  ]);
  t.is(stdout, '[1/3] Packaging function code... Done.\n[3/3] Starting container...\n');
  t.is(stderr, '');
});

test('rendering does not change the state it is given', (t) => {
  const before = { ...initialDeployState };
  renderDeployEvent(initialDeployState, { type: 'packing' });
  t.deepEqual(initialDeployState, before);
});

test('errors are prefixed like Dokku, with the code when there is one', (t) => {
  t.is(renderError('function "x" does not exist', 'LAMBDA_ERR_FUNCTION_NOT_FOUND'), ' !     function "x" does not exist (LAMBDA_ERR_FUNCTION_NOT_FOUND)\n');
  t.is(renderError('cannot reach it'), ' !     cannot reach it\n');
  t.is(renderError('line one\nline two'), ' !     line one\n !     line two\n');
});

test('the function table pads columns, shows v<N>, 12-char SHAs and - when nothing is live', (t) => {
  const functions: FunctionSummary[] = [
    { name: 'greet', url: 'http://greet.localhost:8080', live: { version: 3, sha: '3f2c1a9b7e01aaaabbbbccccddddeeeeffff0000', image: 'lambda/greet:3f2c1a9b7e01', deployedAt: '2024-01-01T00:00:00Z' } },
    { name: 'report-builder', url: 'http://report-builder.localhost:8080', live: null },
  ];
  t.is(
    renderFunctionsTable(functions),
    [
      'NAME            VERSION  SHA           URL',
      'greet           v3       3f2c1a9b7e01  http://greet.localhost:8080',
      'report-builder  -        -             http://report-builder.localhost:8080',
      '',
    ].join('\n'),
  );
});

test('an empty function list says how to deploy one', (t) => {
  t.regex(renderFunctionsTable([]), /No functions yet/);
});
