// The one HTTP listener: sends each request to function traffic, the REST API, git or metrics.
import http from 'node:http';
import { LambdaError } from '../errors.js';
import { sendError } from './errors.js';
import { route } from './routes.js';
import type { ForwardTarget } from '../gateway/forward.js';

export interface Surfaces {
  domain: string;
  forward(req: http.IncomingMessage, res: http.ServerResponse, target: ForwardTarget): Promise<void>;
  api(req: http.IncomingMessage, res: http.ServerResponse, url: string): Promise<void>;
  git(req: http.IncomingMessage, res: http.ServerResponse, url: string): Promise<void>;
  /** Node answers 408 and closes the connection when the headers, or the whole request, take longer. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

export function createHttpServer(surfaces: Surfaces): http.Server {
  const dispatch = (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const target = route(req.headers.host, req.url ?? '/', surfaces.domain);
    switch (target.surface) {
      case 'function':
        return surfaces.forward(req, res, target);
      case 'api':
        return surfaces.api(req, res, target.path);
      case 'git':
        return surfaces.git(req, res, target.path);
      default:
        throw new LambdaError('LAMBDA_ERR_ROUTE_NOT_FOUND', { method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0] });
    }
  };
  const options: http.ServerOptions = {
    headersTimeout: surfaces.headersTimeoutMs,
    requestTimeout: surfaces.requestTimeoutMs,
    // Node checks those timeouts on this interval; each second makes a stalled client's 408 timely.
    connectionsCheckingInterval: 1000,
  };
  const server = http.createServer(options, (req, res) => {
    Promise.resolve()
      .then(() => dispatch(req, res))
      .catch((error: unknown) => sendError(res, error));
  });
  server.keepAliveTimeout = 65_000;
  return server;
}
