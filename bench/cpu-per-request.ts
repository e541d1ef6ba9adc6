// `node --import tsx bench/cpu-per-request.ts`: where warm traffic spends CPU. For the gateway, a bare byte pipe and
// straight to the instance, the CPU time (user + system, from /proc) per request of the client, the process in the
// middle and the instance, over two rounds of 4 s at 8 in flight (the second round is the one to read: the first
// includes the JIT's warm-up). Linux only; loopback only, bounded.
import fs from 'node:fs';
import { Pool } from 'undici';
import { command, requireDocker, startLambda } from '../test/helpers/lambda.js';
import { startDirectInstance } from './direct-instance.js';
import { startBytePipe } from './baselines.js';
import { pushGreet, useCompiledServer } from './compiled-server.js';

/** CPU time a process has used, in µs (clock ticks of 10 ms). */
function cpuMicros(pid: number): number {
  const fields = (fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] as string).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function pids(pattern: string): Promise<number[]> {
  return (await command('pgrep', ['-f', pattern])).stdout.trim().split('\n').filter(Boolean).map(Number);
}

async function main(): Promise<void> {
  await requireDocker();
  await useCompiledServer();
  const lambda = await startLambda();
  try {
    const image = await pushGreet(lambda);
    const direct = await startDirectInstance(image, 'index.handler', 'greet');
    const pipe = await startBytePipe(image, 'index.handler', 'greet');
    const gateway = new Pool(lambda.base, { connections: 16 });
    const get = (pool: Pool, path: string) => async () => (await pool.request({ path, method: 'GET' })).body.dump();
    const [pipePid] = await pids('baselines.ts pipe');
    const paths: [string, () => Promise<void>, number | undefined][] = [
      ['byte pipe', get(pipe.pool, '/?name=bench'), pipePid],
      ['gateway', get(gateway, '/fn/greet/?name=bench'), lambda.pid],
      ['direct', get(direct.pool, '/?name=bench'), undefined],
    ];
    for (const [, send] of paths) await send();
    const instances = await pids('shim/main.mjs');
    console.log('path           req/s   µs CPU per request: client  middle  instance');
    for (let round = 1; round <= 2; round++) {
      for (const [name, send, middle] of paths) {
        const before = { client: process.cpuUsage(), middle: middle ? cpuMicros(middle) : 0, instances: instances.map(cpuMicros) };
        const start = performance.now();
        let count = 0;
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            while (performance.now() - start < 4000) {
              await send();
              count += 1;
            }
          }),
        );
        const elapsed = performance.now() - start;
        const client = process.cpuUsage(before.client);
        const instance = instances.map((pid, i) => cpuMicros(pid) - (before.instances[i] as number)).reduce((a, b) => a + b, 0);
        const per = (micros: number) => (micros / count).toFixed(0).padStart(7);
        console.log(
          `${`${name} (${round})`.padEnd(14)} ${((count / elapsed) * 1000).toFixed(0).padStart(6)}   ${' '.repeat(19)}${per(client.user + client.system)} ${per(middle ? cpuMicros(middle) - before.middle : 0)} ${per(instance)}`,
        );
      }
    }
    await Promise.all([gateway.close(), direct.close(), pipe.close()]);
  } finally {
    await lambda.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
