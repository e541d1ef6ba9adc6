// A request body that must be one JSON object: the REST adapters' one parser, with the same 400s everywhere.
import { LambdaError } from '../errors.js';

/** Parses `text` as a JSON object; `example` (e.g. `{"name": "ci"}`) is shown when it is something else. */
export function jsonObject(text: string, example?: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `the body is not JSON: ${(error as Error).message}` });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `the body must be a JSON object${example ? ` like ${example}` : ''}` });
  }
  return parsed as Record<string, unknown>;
}
