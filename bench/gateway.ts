// `npm run bench:gateway`: only the warm-traffic rows of the benchmark (bench/warm-traffic.ts), for working on the
// gateway without the full run. Loopback only, bounded.
import { command, example, requireDocker, startLambda } from '../test/helpers/lambda.js';
import { WARM_PATHS, measureWarmTraffic } from './warm-traffic.js';

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
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
