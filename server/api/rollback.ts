// REST adapter of the rollback verb: POST /api/v1/functions/:name/rollback, answered whole or streamed as NDJSON.
import { LambdaError, asLambdaError } from '../errors.js';
import { assertFunctionName } from '../functions/names.js';
import { rollback } from '../functions/rollback.js';
import type { ProgressEvent } from '../logs/progress.js';
import { errorBody, sendJson } from '../http/errors.js';
import { safeDecode } from '../http/routes.js';
import { readJsonObject } from './json-body.js';
import { NAME, type ApiRoute } from './types.js';
import { whoCalled } from './who.js';

/** The body is a small JSON object (`{"to": "v3"}`). */
const MAX_BODY_BYTES = 1024 * 1024;

export const rollbackRoute: ApiRoute = {
  method: 'POST',
  pattern: new RegExp(`^/api/v1/functions/${NAME}/rollback$`),
  async handle(call) {
    const { req, res, params, context } = call;
    const name = assertFunctionName(safeDecode(params.name));
    const body = await readJsonObject(call, MAX_BODY_BYTES);
    if (body.to !== undefined && typeof body.to !== 'string') throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: '"to" must be a string such as "v3"' });
    const who = await whoCalled(call);
    const streaming = (req.headers.accept ?? '').includes('application/x-ndjson');
    const events: ProgressEvent[] = [];
    if (streaming) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const emit = (event: ProgressEvent) => (streaming ? res.write(`${JSON.stringify(event)}\n`) : events.push(event));
    try {
      const result = await rollback(context.deps, { name, to: body.to as string | undefined, who }, emit);
      if (streaming) res.end(`${JSON.stringify({ type: 'result', ok: true, rollback: result })}\n`);
      else sendJson(res, 200, { ...result, progress: events });
    } catch (error) {
      if (!streaming) throw error;
      const { status, body: failure } = errorBody(asLambdaError(error));
      res.end(`${JSON.stringify({ type: 'result', ok: false, status, error: failure.error })}\n`);
    }
  },
};
