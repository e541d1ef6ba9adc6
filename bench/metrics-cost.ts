// What counting costs: gateway throughput of two servers in the same run, one with metrics on (the default) and one with
// `LAMBDA_METRICS=off`, each serving the greet example, measured in interleaved rounds (8 in flight). Loopback only.
// The server started first measures a few per cent slower whatever its settings (two servers with metrics off differ
// so too), so the pair runs twice, in both orders, and the ratio is the geometric mean of the two.
import { Pool, type Dispatcher } from 'undici';
import { startLambda, type Lambda } from '../test/helpers/lambda.js';
import { pushGreet } from './compiled-server.js';
import { load } from './warm-traffic.js';

export interface MetricsCost {
  /** Requests per second, averaged over both orders. */
  on: number;
  off: number;
  /** on / off: the target is ≥ 0.97. */
  ratio: number;
}

type Which = 'on' | 'off';

async function measurePair(first: Which, rounds: number): Promise<Record<Which, number>> {
  const second: Which = first === 'on' ? 'off' : 'on';
  const servers = {} as Record<Which, Lambda>;
  servers[first] = await startLambda({ LAMBDA_METRICS: first });
  servers[second] = await startLambda({ LAMBDA_METRICS: second });
  const pools: Pool[] = [];
  try {
    const send = async (which: Which) => {
      const pool = new Pool(servers[which].base, { connections: 16 });
      pools.push(pool);
      await pushGreet(servers[which]);
      return async () => {
        const response: Dispatcher.ResponseData = await pool.request({ path: '/fn/greet/?name=bench', method: 'GET' });
        await response.body.dump();
        if (response.statusCode !== 200) throw new Error(`a benchmark request answered ${response.statusCode}`);
      };
    };
    const sends = { on: await send('on'), off: await send('off') };
    // Warmed until the JIT has settled; then rounds alternate which goes first, so a slow spell falls on both.
    for (const which of ['on', 'off'] as const) await load(sends[which], 2000, 8);
    const rps = { on: 0, off: 0 };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
      for (const which of order) rps[which] += (await load(sends[which], 3000, 8)).rps / rounds;
    }
    return rps;
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
    await Promise.all([servers.on.destroy(), servers.off.destroy()]);
  }
}

export async function measureMetricsCost(rounds = 4): Promise<MetricsCost> {
  const onFirst = await measurePair('on', rounds);
  const offFirst = await measurePair('off', rounds);
  return {
    on: (onFirst.on + offFirst.on) / 2,
    off: (onFirst.off + offFirst.off) / 2,
    ratio: Math.sqrt((onFirst.on / onFirst.off) * (offFirst.on / offFirst.off)),
  };
}

export const describeMetricsCost = (cost: MetricsCost) => `${cost.ratio.toFixed(3)}× (${cost.on.toFixed(0)} vs ${cost.off.toFixed(0)} req/s)`;
