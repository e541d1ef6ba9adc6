// The invoke verb: a direct call with a JSON payload as the event, answered with the handler's result.
import { randomUUID } from 'node:crypto';
import { LambdaError } from '../errors.js';
import { ERROR_HEADER, INVOKE_HEADER, REQUEST_ID_HEADER } from '../instances/protocol.js';
import type { Deps } from './deps.js';
import type { Trigger } from '../metrics/types.js';
import { assertFunctionName } from './names.js';

export interface InvokeResult {
  requestId: string;
  /** The handler's result, as JSON text. */
  payload: string;
}

/**
 * Invokes the live version of `name` with `payload` (JSON text; empty means null). `requestId` is the RequestId of
 * its START, END and REPORT lines and its context's awsRequestId: a queued call gives its invocation id, so the id its
 * caller was given is the one in the logs; otherwise a new one.
 * Throws LAMBDA_ERR_INVALID_NAME, LAMBDA_ERR_FUNCTION_NOT_FOUND, LAMBDA_ERR_NOT_DEPLOYED, LAMBDA_ERR_BAD_PAYLOAD,
 * LAMBDA_ERR_FUNCTION_ERROR, LAMBDA_ERR_FUNCTION_TIMEOUT, LAMBDA_ERR_FUNCTION_CRASHED.
 */
export async function invoke(deps: Pick<Deps, 'store' | 'dispatch'>, input: { name: string; payload: string; requestId?: string; trigger?: Trigger }): Promise<InvokeResult> {
  const name = assertFunctionName(input.name);
  if (!deps.store.functions.get(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
  const body = input.payload.trim() === '' ? 'null' : input.payload;
  try {
    JSON.parse(body);
  } catch (error) {
    throw new LambdaError('LAMBDA_ERR_BAD_PAYLOAD', { detail: (error as Error).message });
  }
  const requestId = input.requestId ?? randomUUID();
  const response = await deps.dispatch.request(name, {
    method: 'POST',
    path: '/',
    headers: { [INVOKE_HEADER]: 'direct', [REQUEST_ID_HEADER]: requestId, 'content-type': 'application/json' },
    body: Buffer.from(body),
    trigger: input.trigger ?? 'direct',
  });
  const text = response.body;
  if (response.headers[ERROR_HEADER] || response.statusCode !== 200) throw functionError(text);
  return { requestId, payload: text };
}

/** LAMBDA_ERR_FUNCTION_ERROR from the body the shim answers a host's call with when its handler threw. */
export function functionError(text: string): LambdaError {
  const failure = parseFailure(text);
  return new LambdaError('LAMBDA_ERR_FUNCTION_ERROR', failure, failure);
}

function parseFailure(text: string): { errorType: string; errorMessage: string } {
  try {
    const parsed = JSON.parse(text) as { errorType?: unknown; errorMessage?: unknown };
    return { errorType: String(parsed.errorType ?? 'Error'), errorMessage: String(parsed.errorMessage ?? '') };
  } catch {
    return { errorType: 'Error', errorMessage: text.slice(0, 500) };
  }
}
