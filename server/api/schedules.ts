// REST adapters for schedules: GET and POST /api/v1/functions/:name/schedules, DELETE .../schedules/:id.
import { LambdaError } from '../errors.js';
import { addSchedule, listSchedules, removeSchedule } from '../schedules/verbs.js';
import { sendJson } from '../http/errors.js';
import { safeDecode } from '../http/routes.js';
import { NAME, type ApiRoute } from './types.js';
import { jsonObject } from './json-body.js';

/** A cron, an overlap and a payload: far less than this. */
const MAX_BODY_BYTES = 256 * 1024;

export const schedulesRoutes: ApiRoute[] = [
  {
    method: 'GET',
    pattern: new RegExp(`^/api/v1/functions/${NAME}/schedules/?$`),
    async handle({ res, params, context }) {
      sendJson(res, 200, { schedules: listSchedules(context.deps, { name: safeDecode(params.name ?? '') }) });
    },
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/api/v1/functions/${NAME}/schedules/?$`),
    async handle({ req, res, params, context }) {
      const body = jsonObject((await context.readBody(req, MAX_BODY_BYTES)).toString('utf8'), '{"cron": "*/5 * * * *"}');
      if (typeof body.cron !== 'string') throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: '"cron" must be a string such as "*/5 * * * *"' });
      if (body.overlap !== undefined && typeof body.overlap !== 'string') throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: '"overlap" must be skip or allow' });
      const schedule = addSchedule(context.deps, {
        name: safeDecode(params.name ?? ''),
        cron: body.cron,
        payload: body.payload === undefined ? undefined : JSON.stringify(body.payload),
        overlap: body.overlap,
      });
      sendJson(res, 201, schedule);
    },
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/api/v1/functions/${NAME}/schedules/(?<id>[^/]+)$`),
    async handle({ res, params, context }) {
      const id = safeDecode(params.id ?? '');
      removeSchedule(context.deps, { name: safeDecode(params.name ?? ''), id });
      sendJson(res, 200, { id, removed: true });
    },
  },
];
