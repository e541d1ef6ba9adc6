// `npm run bench:gateway`: only the warm-traffic rows of the benchmark (gateway vs straight to the instance, with
// and without a log line per request), for working on the gateway without the full run. Loopback only, bounded.
import { Pool, type Dispatcher } from 'undici';
import { command, example, requireDocker, startLambda } from '../test/helpers/lambda.js';
import { startDirectInstance } from './direct-instance.js';
import { startBareServer, startMinimalProxy } from './baselines.js';

async function load(send: () => Promise<void>, seconds: number, concurrency: number): Promise<{ rps: number; p50: number }> {
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + seconds * 1000;
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
  return { rps: (latencies.length / (performance.now() - start)) * 1000, p50: latencies[Math.floor(latencies.length / 2)] };
}

async function main(): Promise<void> {
  await requireDocker();
  const built = await command('npx', ['tsc', '-p', 'tsconfig.build.json']);
  if (built.code !== 0) throw new Error(`tsc failed: ${built.stdout}${built.stderr}`);
  process.env.LAMBDA_SERVER_ENTRY ??= 'dist/server/main.js';
  const lambda = await startLambda();
  try {
    const push = await lambda.push('greet', example('greet'));
    if (push.code !== 0) throw new Error(push.stderr);
    const image = `lambda/greet:${push.sha.slice(0, 12)}`;
    const direct = await startDirectInstance(image, 'index.handler', 'greet');
    const gateway = new Pool(lambda.base, { connections: 16 });
    const ok = async (response: Dispatcher.ResponseData) => {
      await response.body.dump();
      if (response.statusCode !== 200) throw new Error(`answered ${response.statusCode}`);
    };
    // The references, each in a process of its own as the gateway is: a minimal HTTP proxy, and a bare Node server.
    const minimal = await startMinimalProxy(image, 'index.handler', 'greet');
    const bare = await startBareServer(example('greet'), 'index.handler');
    const paths: [string, () => Promise<void>][] = [
      ['gateway', async () => ok(await gateway.request({ path: '/fn/greet/?name=bench', method: 'GET' }))],
      ['direct', async () => ok(await direct.pool.request({ path: '/?name=bench', method: 'GET' }))],
      ['minimal proxy', async () => ok(await minimal.pool.request({ path: '/?name=bench', method: 'GET' }))],
      ['bare node', async () => ok(await bare.pool.request({ path: '/?name=bench', method: 'GET' }))],
    ];
    for (const [, send] of paths) await load(send, 2, 8);
    const rps = new Map<string, number>();
    // Two rounds, interleaved, so a slow spell of the machine does not fall on one path only.
    for (let round = 0; round < 2; round++) {
      for (const [name, send] of paths) rps.set(name, (rps.get(name) ?? 0) + (await load(send, 3, 8)).rps / 2);
    }
    const directRps = rps.get('direct') as number;
    for (const [name] of paths) console.log(`${name.padEnd(14)} ${(rps.get(name) as number).toFixed(0).padStart(6)} req/s  ${((rps.get(name) as number) / directRps).toFixed(2)}× direct`);
    await minimal.close();
    await bare.close();
    const g1 = await load(paths[0][1], 2, 1);
    const d1 = await load(paths[1][1], 2, 1);
    console.log(`serial p50: gateway ${g1.p50.toFixed(3)} ms, direct ${d1.p50.toFixed(3)} ms, added ${(g1.p50 - d1.p50).toFixed(3)} ms`);
    await gateway.close();
    await direct.close();
    // A clean stop, so a profile asked for with LAMBDA_SERVER_NODE_ARGS="--cpu-prof ..." is written.
    await lambda.stop('SIGTERM');
  } finally {
    await lambda.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
