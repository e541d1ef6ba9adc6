// `npm run bench`: measures deploy and request figures against their targets and a baseline, on loopback only.
// Every loop is bounded in count and time; the server, containers and data it makes are removed at the end.
import { command, example, requireDocker, startLambda, type Lambda } from '../test/helpers/lambda.js';
import { describeLoggingCost, measureLogging } from './logs.js';
import { measureColdStarts } from './cold-start.js';
import { measureWarmTraffic, type WarmPath } from './warm-traffic.js';
import { measureIdleFunctions } from './idle-functions.js';
import { measureBursts } from './bursts.js';
import { measureScheduleWave } from './schedule-wave.js';
import { measureMemory } from './memory.js';
import { underLoad } from './under-load.js';
import { measureRollback } from './rollback.js';
import { useCompiledServer } from './compiled-server.js';
import { describeMetricsCost, measureMetricsCost } from './metrics-cost.js';
import { describeMetricsQueries, measureMetricsQueries } from './metrics-query.js';
import { measureGoPush, median } from './go-push.js';
import { swarmRows } from './swarm.js';

interface Row {
  figure: string;
  measured: string;
  target: string;
  baseline: string;
}

const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 0)} ms`;
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))];

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const result = await work();
  return [performance.now() - start, result];
}

async function removeImages(pattern: string): Promise<void> {
  const { stdout } = await command('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', pattern]);
  const tags = stdout.split('\n').filter(Boolean);
  if (tags.length > 0) await command('docker', ['rmi', '-f', ...tags]);
}

/** Sends `total` requests with `concurrency` in flight; returns latencies and requests per second. */
async function firstResponse(lambda: Lambda, name: string): Promise<number> {
  // The first fetch() of a process costs tens of ms of client start-up: spend it on another route first.
  await (await lambda.fetch('/fn/warm-up-the-client/')).arrayBuffer();
  const [elapsed, response] = await timed(() => lambda.fetch(`/fn/${name}/?name=bench`));
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`first request answered ${response.status}`);
  return elapsed;
}

async function main(): Promise<void> {
  await requireDocker();
  await useCompiledServer();
  const rows: Row[] = [];
  const lambda = await startLambda();
  try {
    // 1. git push → live, cold: no base image and no image of the function (everything is built).
    await removeImages('lambda/base-node20');
    await removeImages('lambda-fn/greet');
    const [coldPush, cold] = await timed(() => lambda.push('greet', example('greet')));
    if (cold.code !== 0) throw new Error(cold.stderr);
    rows.push({ figure: 'git push → live, cold (base image assembled, no cache)', measured: ms(coldPush), target: '—', baseline: '—' });

    // 2. git push → live with a warm build cache: a one-line change.
    const warmTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [elapsed, warm] = await timed(() => lambda.push('greet', example('greet'), { files: { 'bench.txt': `${Date.now()}-${i}\n` } }));
      if (warm.code !== 0) throw new Error(warm.stderr);
      warmTimes.push(elapsed);
    }
    rows.push({ figure: 'git push → live, warm build cache (p50 of 3)', measured: ms(percentile(warmTimes, 50)), target: '≤ 3000 ms', baseline: '—' });

    // 2b. The same for a Go function (hello.go), beside node20's: its first build compiles the standard library into
    // the function's build cache; a code change reuses it. The Go build and shim images are made before the clock.
    const go = await measureGoPush(lambda);
    rows.push({ figure: 'git push → live, go hello.go, cold build cache', measured: ms(go.coldMs), target: '—', baseline: `node20 cold: ${ms(coldPush)}` });
    rows.push({ figure: 'git push → live, go hello.go, warm build cache (p50 of 3)', measured: ms(median(go.warmMs)), target: '≤ 3000 ms', baseline: `node20 warm: ${ms(percentile(warmTimes, 50))}` });

    // 3. First request after the push (instance already started by the deploy).
    rows.push({ figure: 'first request after push (instance warm)', measured: ms(await firstResponse(lambda, 'greet')), target: '—', baseline: '—' });

    // 4. Cold start: no instance → first response, on servers whose instances stop after 1 s idle (bench/cold-start.ts):
    //    with the cell pool (the default), and without it (a container boots), against `docker run` of the same image.
    const image = `lambda-fn/greet:${cold.sha.slice(0, 12)}`;
    const coldStarts = await measureColdStarts(10);
    const spread = (values: number[]) => `p50 ${ms(percentile(values, 50))}, p95 ${ms(percentile(values, 95))}`;
    rows.push({
      figure: `cold start: no instance → first response (n=${coldStarts.cells.length}, ${coldStarts.fromCell} from a cell)`,
      measured: spread(coldStarts.cells),
      target: 'p50 ≤ 50 ms required, ≤ 15 ms aimed',
      baseline: `docker run node -e (n=${coldStarts.dockerRun.length}): ${spread(coldStarts.dockerRun)}`,
    });
    rows.push({
      figure: `cold start with no cell ready (LAMBDA_CELLS=0, n=${coldStarts.classic.length})`,
      measured: spread(coldStarts.classic),
      target: '—',
      baseline: 'a container boots',
    });
    const python = coldStarts.python;
    rows.push({
      figure: `python3 cold start: no instance → first response (n=${python.cells.length}, ${python.fromCell} from a cell)`,
      measured: spread(python.cells),
      target: 'p50 ≤ 50 ms required, ≤ 20 ms aimed',
      baseline: `node20 above; docker run python3 -c (n=${python.dockerRun.length}): ${spread(python.dockerRun)}`,
    });
    rows.push({
      figure: `python3 cold start with no cell ready (LAMBDA_CELLS=0, n=${python.classic.length})`,
      measured: spread(python.classic),
      target: '—',
      baseline: 'a container boots',
    });
    const memory = coldStarts.cellMemory;
    rows.push({
      figure: 'one waiting node20 cell (LAMBDA_CELLS=2 per runtime keeps 2)',
      measured: memory ? `RSS ${memory.rssMb.toFixed(1)} MB (${memory.anonMb.toFixed(1)} MB private), cgroup ${memory.cgroupMb.toFixed(1)} MB` : 'unknown',
      target: '—',
      baseline: '—',
    });
    const pythonMemory = python.cellMemory;
    rows.push({
      figure: 'one waiting python3 cell',
      measured: pythonMemory ? `RSS ${pythonMemory.rssMb.toFixed(1)} MB (${pythonMemory.anonMb.toFixed(1)} MB private), cgroup ${pythonMemory.cgroupMb.toFixed(1)} MB` : 'unknown',
      target: '—',
      baseline: '—',
    });

    // 5. Warm requests through the gateway vs straight to the instance socket, and the references (bench/warm-traffic.ts).
    const warm = await measureWarmTraffic(lambda, image);
    const ratio = (path: WarmPath) => `${(warm.rps[path] / warm.rps.direct).toFixed(2)} (${warm.rps[path].toFixed(0)} req/s)`;
    rows.push({
      figure: 'warm throughput, gateway / direct socket (8 in flight)',
      measured: `${ratio('gateway')} vs ${warm.rps.direct.toFixed(0)} req/s`,
      target: '≥ 0.36 required, ≥ 0.5 aimed',
      baseline: `byte pipe ${ratio('byte pipe')}; minimal HTTP proxy ${ratio('minimal proxy')}; bare Node server, no container ${warm.rps['bare node'].toFixed(0)} req/s`,
    });
    rows.push({
      figure: 'warm latency added by the gateway, p50 (1 in flight)',
      measured: ms(warm.serial.gateway - warm.serial.direct),
      target: '≤ 0.5 ms',
      baseline: `direct p50: ${ms(warm.serial.direct)}`,
    });
    // 5b. Counting invocations: the same traffic with metrics on and with LAMBDA_METRICS=off (bench/metrics-cost.ts).
    rows.push({ figure: 'warm throughput with metrics on / off (8 in flight)', measured: describeMetricsCost(await measureMetricsCost()), target: '≥ 0.97×', baseline: 'LAMBDA_METRICS=off' });
    // 5c. A metrics question over the whole retention: rows merged into tiers against every minute row (bench/metrics-query.ts).
    rows.push({ figure: 'metrics since=14d, 2 functions × 4 triggers, 14 days of rows', measured: describeMetricsQueries(measureMetricsQueries({ functions: 2 })), target: '—', baseline: `minute rows only: ${describeMetricsQueries(measureMetricsQueries({ functions: 2, compact: false }))}` });
    // 6. A handler logging one line per request against one logging nothing (bench/logs.ts).
    const logging = await measureLogging(lambda);
    rows.push({ figure: 'a line logged per request vs none (10 in flight)', measured: describeLoggingCost(logging), target: '≤ 10% less throughput', baseline: '—' });
    // 7. Rollback: the call → the first response of the version rolled back to (bench/rollback.ts).
    const rollback = await measureRollback(lambda);
    rows.push({
      figure: `rollback call → first response of that version (n=${rollback.switchMs.length})`,
      measured: `p50 ${ms(percentile(rollback.switchMs, 50))}, max ${ms(Math.max(...rollback.switchMs))}; ${rollback.failures} non-2xx`,
      target: '≤ 100 ms, 0 non-2xx',
      baseline: `the API answers in p50 ${ms(percentile(rollback.apiMs, 50))}`,
    });
    // 8. A deploy while 20 clients call the function.
    const switched = await underLoad(lambda, 'greet', () => lambda.push('greet', example('greet'), { files: { 'bench.txt': `under load ${Date.now()}\n` } }));
    if (switched.result.code !== 0) throw new Error(`the deploy under load failed: ${switched.result.stderr}`);
    rows.push({
      figure: 'non-2xx answers during a deploy under load (20 clients)',
      measured: `${switched.non2xx} of ${switched.answered}${switched.failures.length ? ` (${switched.failures.join('; ')})` : ''}`,
      target: '0',
      baseline: '—',
    });
  } finally {
    await lambda.destroy();
  }
  // 9. Many deployed functions nobody calls (bench/idle-functions.ts; BENCH_IDLE_FUNCTIONS sets how many).
  const idle = await measureIdleFunctions(Number(process.env.BENCH_IDLE_FUNCTIONS ?? 100));
  rows.push({
    figure: `${idle.functions} deployed idle functions: function containers, pool containers, server RSS`,
    measured: `${idle.functionContainers}, ${idle.poolContainers}, ${idle.serverRssMb.toFixed(0)} MB`,
    target: '0, —, ≤ 150 MB',
    baseline: `deployed in ${idle.deploySeconds.toFixed(0)} s by git push`,
  });
  // 10. Bursts: 30 distinct idle functions at once, first and repeated, against 30 one after another (bench/bursts.ts).
  rows.push(...(await measureBursts()));
  // 11. A wave of schedules on one cron time, warmed ahead and not (bench/schedule-wave.ts).
  rows.push(...(await measureScheduleWave()));
  // 12. Server memory fresh, after plain load, under hostile clients and after they go, with 100 idle functions (bench/memory.ts).
  rows.push(...(await measureMemory(Number(process.env.BENCH_MEMORY_FUNCTIONS ?? 100))));
  // 13. Swarm mode beside the local engine: a swarm of two engines in network namespaces on this machine (bench/swarm.ts).
  rows.push(...(await swarmRows()));
  printTable(rows);
}

function printTable(rows: Row[]): void {
  const header: Row = { figure: 'figure', measured: 'measured', target: 'target', baseline: 'baseline' };
  const keys = ['figure', 'measured', 'target', 'baseline'] as const;
  const widths = keys.map((key) => Math.max(...[header, ...rows].map((row) => row[key].length)));
  const line = (row: Row) => `| ${keys.map((key, i) => row[key].padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
