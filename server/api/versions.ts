// REST adapter of the versions verb: GET /api/v1/functions/:name/versions.
import { listVersions } from '../functions/versions.js';
import { sendJson } from '../http/errors.js';
import { safeDecode } from '../http/routes.js';
import { NAME, type ApiRoute } from './types.js';

export const versionsRoute: ApiRoute = {
  method: 'GET',
  pattern: new RegExp(`^/api/v1/functions/${NAME}/versions$`),
  async handle({ res, params, context }) {
    sendJson(res, 200, { versions: await listVersions(context.deps, { name: safeDecode(params.name) }) });
  },
};
