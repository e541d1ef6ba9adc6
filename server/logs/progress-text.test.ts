// Unit tests of the server's text lines: the prefix says the kind, progress events and errors render as them.
import test from 'ava';
import { LambdaError } from '../errors.js';
import { detailLine, errorLines, progressLine, stepLine, warnLine } from './progress-text.js';

test('a step, a detail and a warning are told apart by their prefix alone', (t) => {
  t.is(stepLine('Building'), '-----> Building');
  t.is(detailLine('npm ci'), '       npm ci');
  t.is(warnLine('failed'), ' !     failed');
});

test('progress events become the line of their kind, with control characters escaped', (t) => {
  t.deepEqual(progressLine({ type: 'step', phase: 'build', text: 'Building' }), { stream: 'out', text: '-----> Building' });
  t.deepEqual(progressLine({ type: 'detail', text: 'a\u001b[2Jb' }), { stream: 'out', text: detailLine('a\\x1b[2Jb') });
  t.deepEqual(progressLine({ type: 'warn', text: 'slow' }), { stream: 'err', text: ' !     slow' });
});

test('an error is warning lines, one per problem, the code on the last', (t) => {
  const error = new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name: 'greet' });
  t.deepEqual(errorLines(error), [{ stream: 'err', text: ` !     ${error.message} (LAMBDA_ERR_FUNCTION_NOT_FOUND)` }]);
});
