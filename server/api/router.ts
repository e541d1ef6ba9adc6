// The REST API at /api/v1: authenticates, matches a route and calls its adapter; one place maps errors to statuses.
import type http from 'node:http';
import { LambdaError } from '../errors.js';
import { sendError } from '../http/errors.js';
import { clientOf } from '../access/auth-limit.js';
import { bearerToken } from '../access/token-check.js';
import { deployRoute } from './deploy.js';
import { registerRoute } from './register.js';
import { functionsRoutes } from './functions.js';
import { invokeRoute } from './invoke.js';
import { versionsRoute } from './versions.js';
import { rollbackRoute } from './rollback.js';
import { releasesRoute } from './releases.js';
import { deleteRoute } from './delete.js';
import { envRoutes } from './env.js';
import { logsRoute } from './logs.js';
import { tokensRoutes } from './tokens.js';
import { sshKeysRoutes } from './ssh-keys.js';
import { schedulesRoutes } from './schedules.js';
import { invocationsRoutes } from './invocations.js';
import { metricsRoutes } from './metrics.js';
import { nodesRoute } from './nodes.js';
import type { ApiContext, ApiRoute } from './types.js';

export function createApi(context: ApiContext) {
  const routes: ApiRoute[] = [...functionsRoutes, invokeRoute, deployRoute, logsRoute, ...tokensRoutes, versionsRoute, rollbackRoute, releasesRoute, deleteRoute, ...envRoutes, ...sshKeysRoutes];
  routes.push(...schedulesRoutes, ...invocationsRoutes, ...metricsRoutes, registerRoute, nodesRoute);
  return async (req: http.IncomingMessage, res: http.ServerResponse, url: string): Promise<void> => {
    try {
      if (!(await context.verifyKey(bearerToken(req.headers.authorization), clientOf(req.socket.remoteAddress)))) throw new LambdaError('LAMBDA_ERR_UNAUTHORIZED');
      const pathname = new URL(url, 'http://api').pathname;
      for (const candidate of routes) {
        if (candidate.method !== req.method) continue;
        const match = candidate.pattern.exec(pathname);
        if (match) {
          await candidate.handle({ req, res, params: match.groups ?? {}, context });
          return;
        }
      }
      throw new LambdaError('LAMBDA_ERR_ROUTE_NOT_FOUND', { method: req.method ?? 'GET', path: pathname });
    } catch (error) {
      sendError(res, error);
    }
  };
}
