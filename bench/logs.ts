// What one log line per request costs: warm traffic through the gateway to a handler that logs nothing against the
// same handler logging a line per request (test/fixtures/logger: `/silent` and `/`), 10 connections, 5 s each way in
// alternated one-second slices, so both see the same machine. Besides requests per second it counts the CPU time
// each request takes in the client, the server, the function's containers and the engine (dockerd, containerd and
// its shims, which carry a container's stdout to Docker's log driver): on a machine others load too, CPU per request
// is the steadier figure. `npm run bench` prints it as a row; alone: `node --import tsx bench/logs.ts`
// (LAMBDA_SERVER_ENTRY=dist/server/main.js for the compiled server). Loopback only, bounded in time.
import fs from 'node:fs';
import { Pool, type Dispatcher } from 'undici';
import { command, fixture, requireDocker, startLambda, type Lambda } from '../test/helpers/lambda.js';

export interface Side {
  rps: number;
  /** CPU microseconds per request, all processes involved together; undefined where /proc or cgroups are not readable. */
  cpuUs?: number;
}

export interface LoggingCost {
  silent: Side;
  logging: Side;
  /** logging.rps / silent.rps: 1 means logging costs nothing. */
  ratio: number;
}

/** Requests answered (all checked) with `connections` in flight for `seconds`. */
async function run(pool: Pool, path: string, connections: number, seconds: number): Promise<{ count: number; ms: number }> {
  let count = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        const response: Dispatcher.ResponseData = await pool.request({ path, method: 'GET' });
        await response.body.dump();
        if (response.statusCode !== 200) throw new Error(`${path} answered ${response.statusCode}`);
        count += 1;
      }
    }),
  );
  return { count, ms: performance.now() - start };
}

const TICK_US = 10_000; // USER_HZ is 100 on Linux

/** CPU microseconds used so far by every process that serves the requests; undefined when it cannot be read. */
async function cpuMeter(lambda: Lambda): Promise<() => number | undefined> {
  const engine = (await command('pgrep', ['-f', '^(dockerd|containerd)'])).stdout.split('\n').filter(Boolean);
  const ours = (await command('docker', ['ps', '-q', '--no-trunc', '--filter', `label=lambda.server=${lambda.serverId()}`])).stdout.split('\n').filter(Boolean);
  const processTime = (pid: string | number) => {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  };
  const containerTime = (id: string) => Number(fs.readFileSync(`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, 'utf8')) / 1000;
  return () => {
    try {
      const client = process.cpuUsage();
      const parts = [client.user + client.system, processTime(lambda.pid), engine.reduce((sum, pid) => sum + processTime(pid), 0), ours.reduce((sum, id) => sum + containerTime(id), 0)];
      if (process.env.BENCH_CPU_PARTS) console.log('cpu parts (client, server, engine, containers)', parts.join(' '));
      return parts.reduce((sum, part) => sum + part, 0);
    } catch {
      return undefined;
    }
  };
}

/**
 * Deploys the logger fixture as `name` on `lambda` and measures `slices` one-second slices each way, alternated,
 * each pair in swapped order, so load from elsewhere on the machine falls on both alike.
 */
export async function measureLogging(lambda: Lambda, name = 'bench-logs', slices = 5): Promise<LoggingCost> {
  const push = await lambda.push(name, fixture('logger'));
  if (push.code !== 0) throw new Error(`could not deploy ${name}: ${push.stderr}`);
  const pool = new Pool(lambda.base, { connections: 10 });
  const paths = { silent: `/fn/${name}/silent`, logging: `/fn/${name}/?mark=bench` };
  try {
    // Warm both paths until the JIT has settled; the instance serving them is running by then.
    await run(pool, paths.silent, 10, 2);
    await run(pool, paths.logging, 10, 2);
    const cpu = await cpuMeter(lambda);
    const totals = { silent: { count: 0, ms: 0, cpuUs: 0 as number | undefined }, logging: { count: 0, ms: 0, cpuUs: 0 as number | undefined } };
    const measure = async (side: 'silent' | 'logging') => {
      const before = cpu();
      const { count, ms } = await run(pool, paths[side], 10, 1);
      const after = cpu();
      const total = totals[side];
      total.count += count;
      total.ms += ms;
      total.cpuUs = before === undefined || after === undefined || total.cpuUs === undefined ? undefined : total.cpuUs + (after - before);
    };
    for (let slice = 0; slice < slices; slice++) {
      for (const side of slice % 2 === 0 ? (['silent', 'logging'] as const) : (['logging', 'silent'] as const)) await measure(side);
    }
    const side = (total: (typeof totals)['silent']): Side => ({
      rps: (total.count / total.ms) * 1000,
      cpuUs: total.cpuUs === undefined ? undefined : total.cpuUs / total.count,
    });
    const silent = side(totals.silent);
    const logging = side(totals.logging);
    return { silent, logging, ratio: logging.rps / silent.rps };
  } finally {
    await pool.close();
  }
}

/** One line for the benchmark table. */
export function describeLoggingCost(cost: LoggingCost): string {
  const cpu = cost.silent.cpuUs && cost.logging.cpuUs ? `; CPU per request ${cost.silent.cpuUs.toFixed(0)} → ${cost.logging.cpuUs.toFixed(0)} µs (+${((cost.logging.cpuUs / cost.silent.cpuUs - 1) * 100).toFixed(1)}%)` : '';
  return `${((1 - cost.ratio) * 100).toFixed(1)}% less (${cost.logging.rps.toFixed(0)} vs ${cost.silent.rps.toFixed(0)} req/s${cpu})`;
}

async function main(): Promise<void> {
  await requireDocker();
  const lambda = await startLambda();
  try {
    const cost = await measureLogging(lambda, 'bench-logs', Number(process.env.BENCH_SLICES ?? 5));
    console.log(`one log line per request vs none: ${describeLoggingCost(cost)}`);
    console.log(JSON.stringify(cost));
  } finally {
    await lambda.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
