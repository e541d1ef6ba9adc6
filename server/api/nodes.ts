// REST adapter of the machines that run instances: GET /api/v1/nodes (server-wide: admin API tokens, as every route).
import { sendJson } from '../http/errors.js';
import type { ApiRoute } from './types.js';

export const nodesRoute: ApiRoute = {
  method: 'GET',
  pattern: /^\/api\/v1\/nodes\/?$/,
  async handle({ res, context }) {
    sendJson(res, 200, { nodes: (await context.deps.engine.nodes?.()) ?? [] });
  },
};
