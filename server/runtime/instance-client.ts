// HTTP clients to instances over their Unix sockets: one keep-alive connection pool per instance.
import { Pool } from 'undici';
import { INVOKE_HEADER } from './protocol.js';
import type { Instance } from './types.js';


export class InstanceClients {
  private readonly pools = new Map<string, Pool>();

  get(instance: Pick<Instance, 'id' | 'socketPath'>): Pool {
    let pool = this.pools.get(instance.id);
    if (!pool) {
      // Timeouts are the dispatcher's job (per function), so undici's own are off.
      pool = new Pool('http://instance', {
        socketPath: instance.socketPath,
        connections: 64,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      this.pools.set(instance.id, pool);
    }
    return pool;
  }

  /** One health request: true when the shim answers 200. */
  async healthy(instance: Pick<Instance, 'id' | 'socketPath'>, timeoutMs = 2000): Promise<boolean> {
    try {
      const response = await this.get(instance).request({
        path: '/',
        method: 'GET',
        headers: { [INVOKE_HEADER]: 'health' },
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body.dump();
      return response.statusCode === 200;
    } catch {
      return false;
    }
  }

  /** Lets in-flight requests finish, then closes the connections. */
  async drain(instanceId: string): Promise<void> {
    const pool = this.pools.get(instanceId);
    this.pools.delete(instanceId);
    await pool?.close().catch(() => {});
  }

  /** Drops the connections at once, failing in-flight requests (a hung instance). */
  async destroy(instanceId: string): Promise<void> {
    const pool = this.pools.get(instanceId);
    this.pools.delete(instanceId);
    await pool?.destroy().catch(() => {});
  }
}
