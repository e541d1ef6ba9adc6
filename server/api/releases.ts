// REST adapter of the releases verb: GET /api/v1/functions/:name/releases (?limit=N).
import { LambdaError } from '../errors.js';
import { listReleases } from '../functions/releases.js';
import { sendJson } from '../http/errors.js';
import { safeDecode } from '../http/routes.js';
import { NAME, type ApiRoute } from './types.js';

export const releasesRoute: ApiRoute = {
  method: 'GET',
  pattern: new RegExp(`^/api/v1/functions/${NAME}/releases$`),
  async handle({ req, res, params, context }) {
    const limit = new URL(req.url ?? '/', 'http://api').searchParams.get('limit');
    if (limit !== null && !/^\d{1,4}$/.test(limit)) throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: 'limit: expected a number from 1 to 1000' });
    sendJson(res, 200, { releases: listReleases(context.deps, { name: safeDecode(params.name), limit: limit === null ? undefined : Number(limit) }) });
  },
};
