// REST adapters for the async queue: GET /api/v1/functions/:name/invocations[?status=failed], GET .../invocations/:id,
// GET .../dlq, POST .../dlq/:id/replay. Queuing a call is POST .../invoke with X-Lambda-Invocation-Type: Event.
import { getInvocation, listDeadLetters, listInvocations, replayDeadLetter } from '../queue/invocations.js';
import { sendJson } from '../http/errors.js';
import { safeDecode } from '../http/routes.js';
import { NAME, type ApiRoute } from './types.js';

export const invocationsRoutes: ApiRoute[] = [
  {
    method: 'GET',
    pattern: new RegExp(`^/api/v1/functions/${NAME}/invocations/?$`),
    async handle({ req, res, params, context }) {
      const status = new URL(req.url ?? '/', 'http://api').searchParams.get('status') ?? undefined;
      sendJson(res, 200, listInvocations(context.deps, { name: safeDecode(params.name ?? ''), status }));
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/api/v1/functions/${NAME}/invocations/(?<id>[^/]+)$`),
    async handle({ res, params, context }) {
      sendJson(res, 200, getInvocation(context.deps, { name: safeDecode(params.name ?? ''), id: safeDecode(params.id ?? '') }));
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/api/v1/functions/${NAME}/dlq/?$`),
    async handle({ res, params, context }) {
      sendJson(res, 200, { invocations: listDeadLetters(context.deps, { name: safeDecode(params.name ?? '') }) });
    },
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/api/v1/functions/${NAME}/dlq/(?<id>[^/]+)/replay$`),
    async handle({ res, params, context }) {
      sendJson(res, 202, replayDeadLetter(context.deps, { name: safeDecode(params.name ?? ''), id: safeDecode(params.id ?? '') }));
    },
  },
];
