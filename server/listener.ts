// The one HTTP listener: sends each request to function traffic, the REST API, git, metrics, the dashboard (on its own host) or the health check.
import http from 'node:http';
import type net from 'node:net';
import { LambdaError } from './errors.js';
import { sendError } from './http/errors.js';
import { route } from './http/routes.js';
import type { ForwardTarget } from './traffic/node-path.js';
import { createBytePath, type BytePath, type BytePathOptions } from './traffic/byte-path.js';

export interface Surfaces {
  domain: string;
  forward(req: http.IncomingMessage, res: http.ServerResponse, target: ForwardTarget): Promise<void>;
  api(req: http.IncomingMessage, res: http.ServerResponse, url: string): Promise<void>;
  git(req: http.IncomingMessage, res: http.ServerResponse, url: string): Promise<void>;
  /** Prometheus' `GET /metrics`; absent: 404. */
  metrics?(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
  /** The dashboard's pages and assets under `/dashboard` on its own host, `dashboard.<domain>`; absent: 404. */
  dashboard?(req: http.IncomingMessage, res: http.ServerResponse, url: string): Promise<void>;
  /** Node answers 408 and closes the connection when the headers, or the whole request, take longer. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** A client that takes none of a function's answer for this long is closed (traffic/send-timeout.ts). */
  sendTimeoutMs: number;
  /** Function traffic's byte path (traffic/byte-path.ts); without it every request goes through Node's server. */
  bytePath?: Pick<BytePathOptions, 'dispatch' | 'exists' | 'guard'>;
}

const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** Node's HTTP server, with connections first offered to the byte path; closing closes the byte path's connections too. */
class GatewayServer extends http.Server {
  bytePath: BytePath | undefined;
  /**
   * A client that ends its side after its requests still gets their answers, then the connection closes, as on the
   * byte path; by default Node's server abandons them. (Node reads this property when a client ends; it has no option.)
   */
  httpAllowHalfOpen = true;

  override close(callback?: (error?: Error) => void): this {
    this.bytePath?.stop();
    return super.close(callback);
  }

  override closeIdleConnections(): void {
    super.closeIdleConnections();
    this.bytePath?.closeIdle();
  }

  override closeAllConnections(): void {
    super.closeAllConnections();
    this.bytePath?.closeAll();
  }
}

/**
 * `GET /healthz`: 200 while the server takes requests, with no key and nothing in the answer a stranger could use;
 * a deploy checks it before it keeps a new build.
 */
async function health(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new LambdaError('LAMBDA_ERR_ROUTE_NOT_FOUND', { method: req.method ?? 'GET', path: '/healthz' });
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': 3 });
  res.end(req.method === 'HEAD' ? undefined : 'ok\n');
}

/**
 * The dashboard's old address on the control origin, and its host's root: a plain redirect, not kept by browsers.
 * Leaving the control origin, it clears what an older dashboard may have kept there (its token in session storage, a
 * service worker a function registered through /fn/): pages on that origin are functions' pages.
 */
async function redirect(res: http.ServerResponse, location: string): Promise<void> {
  const text = `See ${location}\n`;
  const leaving = location.startsWith('//') ? { 'clear-site-data': '"storage"' } : {};
  res.writeHead(302, { location, ...leaving, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function createHttpServer(surfaces: Surfaces): http.Server {
  const dispatch = (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const target = route(req.headers.host, req.url ?? '/', surfaces.domain);
    switch (target.surface) {
      case 'function':
        // A service worker registered through /fn/ would sit on the origin every function shares (and the REST API
        // too): nothing legitimate does that, so its script is never served there. A function's own host is its own.
        if (target.prefix && req.headers['service-worker'] !== undefined) {
          // A worker registered there before this refusal existed is dropped with the rest of the origin's storage.
          res.setHeader('clear-site-data', '"storage"');
          throw new LambdaError('LAMBDA_ERR_SERVICE_WORKER_REFUSED', { name: target.name.slice(0, 63) });
        }
        return surfaces.forward(req, res, target);
      case 'api':
        return surfaces.api(req, res, target.path);
      case 'git':
        return surfaces.git(req, res, target.path);
      case 'metrics':
        if (surfaces.metrics) return surfaces.metrics(req, res);
        break;
      case 'dashboard':
        if (surfaces.dashboard) return surfaces.dashboard(req, res, target.path);
        break;
      case 'health':
        return health(req, res);
      case 'redirect':
        return redirect(res, target.location);
    }
    throw new LambdaError('LAMBDA_ERR_ROUTE_NOT_FOUND', { method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0] });
  };
  const options: http.ServerOptions = {
    headersTimeout: surfaces.headersTimeoutMs,
    requestTimeout: surfaces.requestTimeoutMs,
    // Node checks those timeouts on this interval; each second makes a stalled client's 408 timely.
    connectionsCheckingInterval: 1000,
  };
  const server = new GatewayServer(options, (req, res) => {
    Promise.resolve()
      .then(() => dispatch(req, res))
      .catch((error: unknown) => sendError(res, error));
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  if (surfaces.bytePath) {
    // Node's own connection listener becomes the hand-off: a connection reaches it at the first request the byte path does not take.
    const nodeListeners = server.listeners('connection') as ((socket: net.Socket) => void)[];
    server.removeAllListeners('connection');
    const bytePath = createBytePath({
      ...surfaces.bytePath,
      domain: surfaces.domain,
      keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
      headersTimeoutMs: surfaces.headersTimeoutMs,
      sendTimeoutMs: surfaces.sendTimeoutMs,
      handOff: (socket) => {
        for (const listener of nodeListeners) listener.call(server, socket);
      },
    });
    server.bytePath = bytePath;
    server.on('connection', (socket: net.Socket) => bytePath.accept(socket));
  }
  return server;
}
