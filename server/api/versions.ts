// REST adapters of the lifecycle verbs: versions, rollback, releases, delete and env of /api/v1/functions/:name.
import type http from 'node:http';
import { LambdaError, asLambdaError } from '../errors.js';
import { deleteFunction } from '../functions/delete.js';
import { changeEnv, getEnv } from '../functions/env.js';
import { assertFunctionName } from '../functions/names.js';
import type { ProgressEvent } from '../logs/progress.js';
import { listReleases } from '../functions/releases.js';
import { rollback } from '../functions/rollback.js';
import { listVersions } from '../functions/versions.js';
import { errorBody, sendJson } from '../http/errors.js';
import { safeDecode } from '../http/routes.js';
import { NAME, type ApiCall, type ApiRoute } from './types.js';
import { jsonObject } from './json-body.js';

/** Bodies here are small JSON objects (env values are at most 32 KiB each). */
const MAX_BODY_BYTES = 1024 * 1024;

export const lifecycleRoutes: ApiRoute[] = [
  {
    method: 'GET',
    pattern: new RegExp(`^/api/v1/functions/${NAME}/versions$`),
    async handle({ res, params, context }) {
      sendJson(res, 200, { versions: await listVersions(context.deps, { name: safeDecode(params.name) }) });
    },
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/api/v1/functions/${NAME}/rollback$`),
    async handle(call) {
      const { req, res, params, context } = call;
      const name = assertFunctionName(safeDecode(params.name));
      const body = await jsonBody(call);
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
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/api/v1/functions/${NAME}/releases$`),
    async handle({ req, res, params, context }) {
      const limit = new URL(req.url ?? '/', 'http://api').searchParams.get('limit');
      if (limit !== null && !/^\d{1,4}$/.test(limit)) throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: 'limit: expected a number from 1 to 1000' });
      sendJson(res, 200, { releases: listReleases(context.deps, { name: safeDecode(params.name), limit: limit === null ? undefined : Number(limit) }) });
    },
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/api/v1/functions/${NAME}$`),
    async handle(call) {
      const result = await deleteFunction(call.context.deps, { name: safeDecode(call.params.name), who: await whoCalled(call) });
      sendJson(call.res, 200, result);
    },
  },
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
      const body = await jsonBody(call);
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

/** The body as a JSON object; an empty body is `{}`. */
async function jsonBody({ req, context }: ApiCall): Promise<Record<string, unknown>> {
  const text = (await context.readBody(req, MAX_BODY_BYTES)).toString('utf8').trim();
  return text === '' ? {} : jsonObject(text);
}

/** Who made a change, for its release: the API token's name and id. */
export async function whoCalled({ req, context }: { req: http.IncomingMessage; context: ApiCall['context'] }): Promise<string> {
  const key = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const token = await context.identifyKey?.(key);
  return token ? `token ${token.name || '(unnamed)'} (${token.id})` : 'api';
}
