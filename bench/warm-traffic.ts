// Warm traffic, for `npm run bench` and `npm run bench:gateway`: the gateway against the same image reached
// straight over its socket, and against the references, each in a process of its own (bench/baselines.ts).
import { Pool, type Dispatcher } from 'undici';
import type { Lambda } from '../test/helpers/lambda.js';
import { example } from '../test/helpers/lambda.js';
import { startDirectInstance } from './direct-instance.js';
import { startBareServer, startBytePipe, startMinimalProxy } from './baselines.js';

export const WARM_PATHS = ['gateway', 'direct', 'byte pipe', 'minimal proxy', 'bare node'] as const;
export type WarmPath = (typeof WARM_PATHS)[number];

export interface WarmTraffic {
  rps: Record<WarmPath, number>;
  /** p50 of one request at a time, in ms. */
  serial: { gateway: number; direct: number };
}

export async function load(send: () => Promise<void>, ms: number, concurrency: number): Promise<{ rps: number; p50: number }> {
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const begin = performance.now();
        await send();
        latencies.push(performance.now() - begin);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { rps: (latencies.length / (performance.now() - start)) * 1000, p50: latencies[Math.floor(latencies.length / 2)] ?? 0 };
}

/** `image` is the deployed `greet` example's image; `fn` is deployed as `greet` on `lambda`. */
export async function measureWarmTraffic(lambda: Lambda, image: string, rounds = 3): Promise<WarmTraffic> {
  const ok = async (response: Dispatcher.ResponseData) => {
    await response.body.dump();
    if (response.statusCode !== 200) throw new Error(`a benchmark request answered ${response.statusCode}`);
  };
  const gateway = new Pool(lambda.base, { connections: 16 });
  const direct = await startDirectInstance(image, 'index.handler', 'greet');
  const pipe = await startBytePipe(image, 'index.handler', 'greet');
  const minimal = await startMinimalProxy(image, 'index.handler', 'greet');
  const bare = await startBareServer(example('greet'), 'index.handler');
  try {
    const sends: Record<WarmPath, () => Promise<void>> = {
      gateway: async () => ok(await gateway.request({ path: '/fn/greet/?name=bench', method: 'GET' })),
      direct: async () => ok(await direct.pool.request({ path: '/?name=bench', method: 'GET' })),
      'byte pipe': async () => ok(await pipe.pool.request({ path: '/?name=bench', method: 'GET' })),
      'minimal proxy': async () => ok(await minimal.pool.request({ path: '/?name=bench', method: 'GET' })),
      'bare node': async () => ok(await bare.pool.request({ path: '/?name=bench', method: 'GET' })),
    };
    // Every path is warmed until the JIT has settled, then measured in interleaved rounds, so that a slow spell of the
    // machine does not fall on one path only.
    for (const path of WARM_PATHS) await load(sends[path], 2000, 8);
    const rps = Object.fromEntries(WARM_PATHS.map((path) => [path, 0])) as Record<WarmPath, number>;
    for (let round = 0; round < rounds; round++) {
      for (const path of WARM_PATHS) rps[path] += (await load(sends[path], 3000, 8)).rps / rounds;
    }
    const serialGateway = await load(sends.gateway, 2000, 1);
    const serialDirect = await load(sends.direct, 2000, 1);
    return { rps, serial: { gateway: serialGateway.p50, direct: serialDirect.p50 } };
  } finally {
    await Promise.all([gateway.close(), direct.close(), pipe.close(), minimal.close(), bare.close()]);
  }
}
