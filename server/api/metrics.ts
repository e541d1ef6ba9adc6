// REST adapters of the metrics summaries: GET /api/v1/metrics (every function) and /api/v1/functions/:name/metrics.
import { LambdaError } from '../errors.js';
import { assertFunctionName } from '../functions/names.js';
import { sendJson } from '../http/errors.js';
import { safeDecode } from '../http/routes.js';
import { functionMetrics, functionsMetrics } from '../metrics/report.js';
import { parseWindow, type MetricsWindow } from '../metrics/window.js';
import { NAME, type ApiCall, type ApiRoute } from './types.js';

export const metricsRoutes: ApiRoute[] = [
  {
    method: 'GET',
    pattern: /^\/api\/v1\/metrics\/?$/,
    async handle(call) {
      sendJson(call.res, 200, functionsMetrics(call.context.deps.store, windowOf(call), call.context.metrics?.pending));
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/api/v1/functions/${NAME}/metrics$`),
    async handle(call) {
      const name = assertFunctionName(safeDecode(call.params.name));
      const window = windowOf(call);
      const found = functionMetrics(call.context.deps.store, name, window, call.context.metrics?.pending);
      if (!found) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
      sendJson(call.res, 200, found);
    },
  },
];

function windowOf({ req, context }: ApiCall): MetricsWindow {
  const query = new URL(req.url ?? '/', 'http://api').searchParams;
  return parseWindow({ since: query.get('since'), until: query.get('until'), step: query.get('step') }, Date.now(), context.metrics?.retentionMs);
}
