// REST adapter for POST /api/v1/functions/:name/invoke: the body is the event, the answer the handler's result.
import { invoke } from '../functions/invoke.js';
import { enqueueInvocation } from '../queue/invocations.js';
import { MAX_ASYNC_BODY_BYTES, isAsyncCall, sendAccepted } from '../traffic/invocation-type.js';
import { MAX_BODY_BYTES } from '../traffic/node-path.js';
import { safeDecode } from '../http/routes.js';
import { NAME, type ApiRoute } from './types.js';

export const invokeRoute: ApiRoute = {
  method: 'POST',
  pattern: new RegExp(`^/api/v1/functions/${NAME}/invoke$`),
  async handle({ req, res, params, context }) {
    // `X-Lambda-Invocation-Type: Event`: queued, answered 202 with the invocation id.
    if (isAsyncCall(req)) {
      const event = (await context.readBody(req, MAX_ASYNC_BODY_BYTES)).toString('utf8');
      sendAccepted(res, enqueueInvocation(context.deps, { name: safeDecode(params.name), payload: event }).invocationId);
      return;
    }
    const payload = (await context.readBody(req, MAX_BODY_BYTES)).toString('utf8');
    const result = await invoke(context.deps, { name: safeDecode(params.name), payload });
    res.writeHead(200, { 'content-type': 'application/json', 'x-lambda-request-id': result.requestId });
    res.end(result.payload);
  },
};
