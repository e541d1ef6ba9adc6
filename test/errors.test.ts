// The error table in docs/errors.md and the catalogue in server/errors.ts list exactly the same codes, with the same statuses.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { ERRORS, LambdaError, asLambdaError, type ErrorCode } from '../server/errors.js';
import { STATUS, errorBody } from '../server/http/errors.js';
import { ROOT } from './helpers/lambda.js';

const documentedRows = () => {
  const page = fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
  return [...page.matchAll(/^\| `(LAMBDA_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((match) => ({ code: match[1], status: Number(match[2]) }));
};

test('docs/errors.md lists every catalogue code once, and nothing else', (t) => {
  const listed = documentedRows().map((row) => row.code);
  t.deepEqual([...listed].sort(), Object.keys(ERRORS).sort());
  t.is(new Set(listed).size, listed.length);
});

test('docs/errors.md gives each code the HTTP status the API answers with', (t) => {
  for (const row of documentedRows()) {
    t.is(STATUS[ERRORS[row.code as ErrorCode].kind], row.status, row.code);
  }
});

test('errors render their template and map to a JSON body with code and message', (t) => {
  const error = new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name: 'greet' });
  t.is(error.message, 'function "greet" does not exist');
  t.deepEqual(errorBody(error), { status: 404, body: { error: { code: 'LAMBDA_ERR_FUNCTION_NOT_FOUND', message: 'function "greet" does not exist' } } });
  const unknown = asLambdaError(new Error('disk on fire'));
  t.is(unknown.code, 'LAMBDA_ERR_INTERNAL');
  t.is(errorBody(unknown).status, 500);
});
