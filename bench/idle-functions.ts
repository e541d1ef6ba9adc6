// "100 deployed idle functions": what a server holding many functions costs once nobody calls them. Deploys N copies
// of examples/greet (each a git push, as users do), waits past their idle timeout, then counts function containers
// (target 0: scale to zero), the waiting cells of the pool, and the server's resident memory.
// `node --import tsx bench/idle-functions.ts [N]` runs it alone; bench/run.ts calls measureIdleFunctions().
import fs from 'node:fs';
import { command, example, requireDocker, startLambda } from '../test/helpers/lambda.js';

export interface IdleFunctions {
  functions: number;
  functionContainers: number;
  poolContainers: number;
  serverRssMb: number;
  deploySeconds: number;
}

/** Resident memory of a process, from /proc (Linux). */
export function rssMb(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) / 1024;
}

export async function measureIdleFunctions(count: number): Promise<IdleFunctions> {
  // Instances stop after 2 s idle here, so the bench does not wait the default 5 minutes.
  const lambda = await startLambda({ LAMBDA_IDLE_TIMEOUT: '2s' });
  try {
    const started = Date.now();
    for (let i = 0; i < count; i++) {
      const name = `idle-${String(i).padStart(3, '0')}`;
      const push = await lambda.push(name, example('greet'));
      if (push.code !== 0) throw new Error(`deploying ${name} failed: ${push.stderr}`);
    }
    const deploySeconds = (Date.now() - started) / 1000;
    // Every function answered once at its deploy; give the idle stops time to happen, bounded.
    const deadline = Date.now() + 60_000;
    while ((await lambda.containers()).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
    const functionContainers = (await lambda.containers()).length;
    const { stdout } = await command('docker', ['ps', '-q', '--filter', `label=lambda.server=${lambda.serverId()}`, '--filter', 'label=lambda.cell']);
    const poolContainers = stdout.split('\n').filter(Boolean).length - functionContainers;
    // Let the collector settle, as a server left alone would.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    return { functions: count, functionContainers, poolContainers, serverRssMb: rssMb(lambda.pid), deploySeconds };
  } finally {
    await lambda.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await requireDocker();
  // What npm start runs (build first: npx tsc -p tsconfig.build.json).
  process.env.LAMBDA_SERVER_ENTRY ??= 'dist/server/main.js';
  console.log(await measureIdleFunctions(Number(process.argv[2] ?? 100)));
}
