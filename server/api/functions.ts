// REST adapters for reading functions: GET /api/v1/functions and /api/v1/functions/:name.
import { LambdaError } from '../errors.js';
import { list } from '../functions/list.js';
import { assertFunctionName } from '../functions/names.js';
import { sendJson } from '../http/errors.js';
import { safeDecode } from '../http/routes.js';
import { NAME, type ApiRoute } from './types.js';

export const functionsRoutes: ApiRoute[] = [
  {
    method: 'GET',
    pattern: /^\/api\/v1\/functions\/?$/,
    async handle({ res, context }) {
      sendJson(res, 200, { functions: list(context.deps) });
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/api/v1/functions/${NAME}$`),
    async handle({ res, params, context }) {
      const name = assertFunctionName(safeDecode(params.name));
      const found = list(context.deps).find((fn) => fn.name === name);
      if (!found) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
      sendJson(res, 200, found);
    },
  },
];
