// The gateway's real traffic code in front of node20 shims run as plain processes, no engine: the listener (with and
// without the byte path), Node's path, dispatch, the pool and the host ends of the instances' sockets, as main.ts
// wires them; only the Engine is a small one of its own, which starts each instance as a shim process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { InstanceClients } from '../../server/instances/requests/client.js';
import { createDispatch, type Dispatch } from '../../server/instances/requests/dispatch.js';
import type { Metrics } from '../../server/metrics/types.js';
import type { Engine, Instance, InstanceSpec } from '../../server/instances/engine.js';
import { createPool, type InstancePool, type PoolOptions } from '../../server/instances/pool/pool.js';
import { createBodyReader } from '../../server/http/body.js';
import { sendError } from '../../server/http/errors.js';
import { LambdaError } from '../../server/errors.js';
import { createForwarder } from '../../server/traffic/node-path.js';
import { createHttpServer } from '../../server/listener.js';
import { startNodeShim } from './node-shim.js';

export interface ShimGateway {
  /** The port of the listener with the byte path on (`LAMBDA_BYTE_PATH=on`) or off. */
  port(bytePath: 'on' | 'off'): number;
  pool: InstancePool;
  dispatch: Dispatch;
  /** The shim processes started so far, in order. */
  started: ChildProcess[];
  close(): Promise<void>;
}

export interface ShimGatewayOptions {
  /** The function's name, reached at `/fn/<name>/…`. */
  name: string;
  /** Its `index.mjs`. */
  source: string;
  timeoutMs: number;
  /** A client that reads none of its answer for this long is closed (LAMBDA_SEND_TIMEOUT). */
  sendTimeoutMs?: number;
  /** What dispatch tells of each invocation (none by default). */
  metrics?: Metrics;
  /** The pool's settings and the function's spec, over the defaults here. */
  pool?: Partial<PoolOptions>;
  spec?: Partial<InstanceSpec>;
}

const LIMITS = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, bodyBudgetBytes: 64 * 1024 * 1024, bodyIdleMs: 10_000 };

export async function startShimGateway(options: ShimGatewayOptions): Promise<ShimGateway> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-gateway-'));
  const taskRoot = path.join(dir, 'task');
  fs.mkdirSync(taskRoot);
  fs.writeFileSync(path.join(taskRoot, 'index.mjs'), options.source);
  const clients = new InstanceClients();
  const processes = new Map<string, ChildProcess>();
  const endedAt = new Map<string, number>();
  const started: ChildProcess[] = [];

  const engine: Engine = {
    imageExists: async () => true,
    removeImage: async () => {},
    freeze: async () => {},
    thaw: async () => {},
    endedAt: async (instance) => endedAt.get(instance.id),
    importImage: async () => {},
    buildImage: async () => {},
    listManaged: async () => [],
    healthy: async (instance) => clients.healthy(instance),
    async start(spec: InstanceSpec): Promise<Instance> {
      const id = randomBytes(6).toString('hex');
      const socketDir = path.join(dir, id);
      fs.mkdirSync(socketDir);
      const instance: Instance = { id, fn: spec.fn, sha: spec.sha, socketPath: path.join(socketDir, 'host.sock') };
      clients.link(instance);
      const shim = startNodeShim(
        socketDir,
        {
          PATH: process.env.PATH ?? '',
          LAMBDA_TASK_ROOT: taskRoot,
          LAMBDA_HANDLER: spec.handler,
          LAMBDA_FUNCTION_NAME: spec.fn,
          LAMBDA_FUNCTION_VERSION: String(spec.version),
          LAMBDA_TIMEOUT_MS: String(spec.timeoutMs),
          LAMBDA_MEMORY_MB: '128',
        },
        clients.secretOf(id),
      );
      processes.set(id, shim.child);
      started.push(shim.child);
      // As the engine's exit watcher does: requests waiting for a connection fail at once, and the pool forgets it.
      shim.child.once('exit', () => {
        endedAt.set(id, Date.now());
        clients.gone(id, 'exited');
        pool.exited(id);
      });
      if (await clients.healthy(instance, 10_000)) return instance;
      shim.child.kill('SIGKILL');
      throw new Error(`the shim did not answer its health check:\n${shim.output()}`);
    },
    async stop(instance) {
      await clients.destroy(instance.id);
      processes.get(instance.id)?.kill('SIGKILL');
      processes.delete(instance.id);
    },
  };

  const pool = createPool(engine, clients, () => {}, { idleTimeoutMs: 10 * 60_000, queueLength: 100, queueTimeoutMs: 10_000, freezeAfterMs: 0, ...options.pool });
  const spec: InstanceSpec = {
    fn: options.name,
    version: 1,
    sha: 'a'.repeat(40),
    image: 'none',
    handler: 'index.handler',
    timeoutMs: options.timeoutMs,
    memoryBytes: 128 * 1024 * 1024,
    concurrency: 8,
    minInstances: 0,
    maxInstances: 2,
    env: {},
    ...options.spec,
  };
  await pool.activate(spec);
  const dispatch = createDispatch(pool, clients, undefined, options.metrics);
  const exists = (name: string) => pool.spec(name) !== undefined;
  const readBody = createBodyReader({ budgetBytes: LIMITS.bodyBudgetBytes, idleMs: LIMITS.bodyIdleMs });
  const sendTimeoutMs = options.sendTimeoutMs ?? 10_000;
  const notHere = async (req: http.IncomingMessage, res: http.ServerResponse) =>
    sendError(res, new LambdaError('LAMBDA_ERR_ROUTE_NOT_FOUND', { method: req.method ?? 'GET', path: req.url ?? '/' }));
  const listen = async (bytePath: boolean): Promise<http.Server> => {
    const server = createHttpServer({
      domain: 'lambda.test',
      forward: createForwarder(dispatch, exists, readBody, undefined, undefined, undefined, sendTimeoutMs),
      bytePath: bytePath ? { dispatch, exists } : undefined,
      api: notHere,
      git: notHere,
      headersTimeoutMs: LIMITS.headersTimeoutMs,
      requestTimeoutMs: LIMITS.requestTimeoutMs,
      sendTimeoutMs,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  };
  const servers = { on: await listen(true), off: await listen(false) };

  return {
    port: (bytePath) => (servers[bytePath].address() as AddressInfo).port,
    pool,
    dispatch,
    started,
    async close() {
      for (const server of Object.values(servers)) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await pool.shutdown();
      for (const child of processes.values()) child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
