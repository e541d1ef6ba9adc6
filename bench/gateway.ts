// `npm run bench:gateway`: only the warm-traffic rows of the benchmark (gateway vs straight to the instance, with
// and without a log line per request), for working on the gateway without the full run. Loopback only, bounded.
import http from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { command, example, requireDocker, startLambda } from '../test/helpers/lambda.js';
import { startDirectInstance } from './direct-instance.js';

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
    const direct = await startDirectInstance(`lambda/greet:${push.sha.slice(0, 12)}`, 'index.handler', 'greet');
    const gateway = new Pool(lambda.base, { connections: 16 });
    const ok = async (response: Dispatcher.ResponseData) => {
      await response.body.dump();
      if (response.statusCode !== 200) throw new Error(`answered ${response.statusCode}`);
    };
    const viaGateway = async () => ok(await gateway.request({ path: '/fn/greet/?name=bench', method: 'GET' }));
    const viaDirect = async () => ok(await direct.pool.request({ path: '/?name=bench', method: 'GET' }));
    // The reference the target comes from: a minimal HTTP proxy (http.Server + undici stream, nothing else).
    const minimal = http.createServer((req, res) => {
      direct.pool
        .stream({ path: req.url ?? '/', method: 'GET', headers: req.headers as Record<string, string> }, ({ statusCode, headers }) => {
          res.writeHead(statusCode, headers as Record<string, string>);
          return res;
        })
        .catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => minimal.listen(0, '127.0.0.1', resolve));
    const minimalPool = new Pool(`http://127.0.0.1:${(minimal.address() as { port: number }).port}`, { connections: 16 });
    const viaMinimal = async () => ok(await minimalPool.request({ path: '/?name=bench', method: 'GET' }));
    await load(viaGateway, 2, 8);
    await load(viaDirect, 2, 8);
    await load(viaMinimal, 2, 8);
    const g = await load(viaGateway, 4, 8);
    const d = await load(viaDirect, 4, 8);
    const m = await load(viaMinimal, 4, 8);
    console.log(`minimal proxy ${m.rps.toFixed(0)} req/s, ratio ${(m.rps / d.rps).toFixed(2)}`);
    await minimalPool.close();
    minimal.close();
    const g1 = await load(viaGateway, 2, 1);
    const d1 = await load(viaDirect, 2, 1);
    console.log(`gateway ${g.rps.toFixed(0)} req/s, direct ${d.rps.toFixed(0)} req/s, ratio ${(g.rps / d.rps).toFixed(2)}`);
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
