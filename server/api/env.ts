// REST adapters of the env verbs: GET /api/v1/functions/:name/env (?reveal=1) and POST (set and unset in one release).
import { LambdaError } from '../errors.js';
import { changeEnv, getEnv } from '../functions/env.js';
import { sendJson } from '../http/errors.js';
import { safeDecode } from '../http/routes.js';
import { readJsonObject } from './json-body.js';
import { NAME, type ApiRoute } from './types.js';
import { whoCalled } from './who.js';

/** Bodies are small JSON objects (env values are at most 32 KiB each). */
const MAX_BODY_BYTES = 1024 * 1024;

export const envRoutes: ApiRoute[] = [
  {
    method: 'GET',
    pattern: new RegExp(`^/api/v1/functions/${NAME}/env$`),
    async handle({ req, res, params, context }) {
      const reveal = new URL(req.url ?? '/', 'http://api').searchParams.get('reveal');
      sendJson(res, 200, getEnv(context.deps, { name: safeDecode(params.name), reveal: reveal !== null && reveal !== '0' && reveal !== 'false' }));
    },
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/api/v1/functions/${NAME}/env$`),
    async handle(call) {
      const body = await readJsonObject(call, MAX_BODY_BYTES);
      const set = body.set ?? {};
      const unset = body.unset ?? [];
      if (typeof set !== 'object' || set === null || Array.isArray(set)) throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: '"set" must be an object of NAME: "value"' });
      if (!Array.isArray(unset) || unset.some((key) => typeof key !== 'string')) throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: '"unset" must be a list of names' });
      const result = await changeEnv(call.context.deps, {
        name: safeDecode(call.params.name),
        set: set as Record<string, string>,
        unset: unset as string[],
        who: await whoCalled(call),
      });
      sendJson(call.res, 200, result);
    },
  },
];
