// A request body that must be one JSON object: the REST adapters' one parser, with the same 400s everywhere.
import { LambdaError } from '../errors.js';
import type { ApiCall } from './types.js';

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

/** The request's body as a JSON object, read within `maxBytes`; an empty body is `{}`. */
export async function readJsonObject({ req, context }: Pick<ApiCall, 'req' | 'context'>, maxBytes: number): Promise<Record<string, unknown>> {
  const text = (await context.readBody(req, maxBytes)).toString('utf8').trim();
  return text === '' ? {} : jsonObject(text);
}
