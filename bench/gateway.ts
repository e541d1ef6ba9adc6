// `npm run bench:gateway`: only the warm-traffic rows of the benchmark (bench/warm-traffic.ts) and the cost of metrics
// (bench/metrics-cost.ts), for working on the gateway without the full run. Loopback only, bounded.
import { requireDocker, startLambda } from '../test/helpers/lambda.js';
import { pushGreet, useCompiledServer } from './compiled-server.js';
import { WARM_PATHS, measureWarmTraffic } from './warm-traffic.js';
import { describeMetricsCost, measureMetricsCost } from './metrics-cost.js';

async function main(): Promise<void> {
  await requireDocker();
  await useCompiledServer();
  const lambda = await startLambda();
  try {
    const image = await pushGreet(lambda);
    const warm = await measureWarmTraffic(lambda, image);
    for (const path of WARM_PATHS) {
      console.log(`${path.padEnd(14)} ${warm.rps[path].toFixed(0).padStart(6)} req/s  ${(warm.rps[path] / warm.rps.direct).toFixed(2)}× direct`);
    }
    const { gateway, direct } = warm.serial;
    console.log(`serial p50: gateway ${gateway.toFixed(3)} ms, direct ${direct.toFixed(3)} ms, added ${(gateway - direct).toFixed(3)} ms`);
    // A clean stop, so a profile asked for with LAMBDA_SERVER_NODE_ARGS="--cpu-prof ..." is written.
    await lambda.stop('SIGTERM');
  } finally {
    await lambda.destroy();
  }
  // On servers of their own (the one above is gone): the cost of counting invocations.
  console.log(`metrics on/off  ${describeMetricsCost(await measureMetricsCost())}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
