// REST adapters for reading functions: GET /api/v1/functions and /api/v1/functions/:name.
import { LambdaError } from '../errors.js';
import { list } from '../functions/list.js';
import { assertFunctionName } from '../functions/names.js';
import { sendJson } from '../http/errors.js';
import { safeDecode } from '../http/routes.js';
import { NAME, type ApiRoute, type ApiContext } from './types.js';

/** The list verb's summaries with each function's instances now (running, starting, busy), for the dashboard. */
function withInstances(context: ApiContext) {
  const counts = context.deps.pool.counts();
  return list(context.deps).map((fn) => {
    const count = counts[fn.name];
    return { ...fn, instances: { running: count?.running ?? 0, starting: count?.starting ?? 0, busy: count?.busy ?? 0 } };
  });
}

export const functionsRoutes: ApiRoute[] = [
  {
    method: 'GET',
    pattern: /^\/api\/v1\/functions\/?$/,
    async handle({ res, context }) {
      sendJson(res, 200, { functions: withInstances(context) });
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/api/v1/functions/${NAME}$`),
    async handle({ res, params, context }) {
      const name = assertFunctionName(safeDecode(params.name));
      const found = withInstances(context).find((fn) => fn.name === name);
      if (!found) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
      sendJson(res, 200, found);
    },
  },
];
