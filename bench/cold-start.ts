// Cold starts (the target: "fast"): no instance of the function → its first response, on a server whose instances
// stop after 1 s idle, so each round is a real scale-from-zero on a warm server. Measured with the cell pool (the
// default) and without it (LAMBDA_CELLS=0: a container boots), against plain `docker run` of the same image,
// all in the same run. Also what one waiting cell costs in memory. `node --import tsx bench/cold-start.ts` runs it alone.
import fs from 'node:fs';
import path from 'node:path';
import { command, example, requireDocker, startLambda, type Lambda } from '../test/helpers/lambda.js';
import { useCompiledServer } from './compiled-server.js';

export interface ColdStartFigures {
  /** First responses with cells, ms, and how many came from a cell. */
  cells: number[];
  fromCell: number;
  /** First responses with no cell pool (a container boots for each), ms. */
  classic: number[];
  /** `docker run --rm` of the version's image running `node -e`, ms. */
  dockerRun: number[];
  /** One waiting cell: resident memory of its process, of which private (anonymous) pages, and its cgroup's charge. */
  cellMemory?: { rssMb: number; anonMb: number; cgroupMb: number };
}

const CELLS = 2;

interface Seen {
  id: string;
  running: boolean;
  cell: string;
  /** The function served: its label for a classic instance, the server's record for a cell that became one. */
  fn: string;
}

/** What a cell became, as the server records it beside its task folder (labels cannot change). */
function servedBy(lambda: Lambda, instance: string): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(lambda.dataDir, 'data', 'cells', 'tasks', `${instance}.json`), 'utf8')) as { fn: string }).fn;
  } catch {
    return '';
  }
}

async function containers(lambda: Lambda): Promise<Seen[]> {
  const format = '{{.ID}}|{{.State}}|{{.Label "lambda.cell"}}|{{.Label "lambda.instance"}}|{{.Label "lambda.function"}}';
  const { stdout } = await command('docker', ['ps', '-a', '--filter', `label=lambda.server=${lambda.serverId()}`, '--format', format]);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, state, cell, instance, label] = line.split('|');
      return { id, running: state === 'running', cell, fn: label || (cell ? servedBy(lambda, instance) : '') };
    });
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const instancesOf = async (lambda: Lambda, fn: string) => (await containers(lambda)).filter((c) => c.fn === fn);
const waitingCells = async (lambda: Lambda) => (await containers(lambda)).filter((c) => c.cell !== '' && c.cell !== 'files' && c.fn === '' && c.running);

/** Times `rounds` cold starts of examples/greet on a fresh server started with `env`. */
async function rounds(
  env: Record<string, string>,
  count: number,
  withCells: boolean,
): Promise<{ times: number[]; fromCell: number; image: string; cellMemory?: ColdStartFigures['cellMemory'] }> {
  const lambda = await startLambda({ LAMBDA_IDLE_TIMEOUT: '1s', ...env });
  try {
    const push = await lambda.push('greet', example('greet'));
    if (push.code !== 0) throw new Error(push.stderr);
    const times: number[] = [];
    let fromCell = 0;
    let cellMemory: ColdStartFigures['cellMemory'];
    for (let i = 0; i < count; i++) {
      await until('greet to stop', async () => (await instancesOf(lambda, 'greet')).length === 0);
      if (withCells) {
        await until('a full pool', async () => (await waitingCells(lambda)).length === CELLS);
        // Running is not booted: let the cells dial in and settle (the version's files were prepared at its deploy).
        await new Promise((resolve) => setTimeout(resolve, 1500));
        cellMemory ??= await memoryOf((await waitingCells(lambda))[0].id);
      } else {
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      // The first fetch() of a process costs tens of ms of client start-up: spend it on another route first.
      await (await lambda.fetch('/fn/warm-up-the-client/')).arrayBuffer();
      const start = performance.now();
      const response = await lambda.fetch('/fn/greet/?name=bench');
      await response.arrayBuffer();
      times.push(performance.now() - start);
      if (response.status !== 200) throw new Error(`a cold start answered ${response.status}`);
      const [instance] = await instancesOf(lambda, 'greet');
      if (instance?.cell) fromCell += 1;
    }
    return { times, fromCell, image: `lambda-fn/greet:${push.sha.slice(0, 12)}`, cellMemory };
  } finally {
    await lambda.destroy();
  }
}

/** A container's main process as the host sees it (/proc), and what its cgroup is charged (docker stats). */
async function memoryOf(id: string): Promise<ColdStartFigures['cellMemory']> {
  try {
    const pid = (await command('docker', ['inspect', id, '--format', '{{.State.Pid}}'])).stdout.trim();
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const stats = (await command('docker', ['stats', '--no-stream', '--format', '{{.MemUsage}}', id])).stdout.trim();
    const usage = /^([\d.]+)(KiB|MiB|GiB)/.exec(stats);
    const cgroupMb = usage ? Number(usage[1]) * ({ KiB: 1 / 1024, MiB: 1, GiB: 1024 } as Record<string, number>)[usage[2]] : NaN;
    return { rssMb: kb('VmRSS') / 1024, anonMb: kb('RssAnon') / 1024, cgroupMb };
  } catch {
    return undefined;
  }
}

/** `count` cold starts with cells, half as many without, and `count` runs of `docker run` of greet's image. */
export async function measureColdStarts(count = 10): Promise<ColdStartFigures> {
  const withCells = await rounds({ LAMBDA_CELLS: String(CELLS) }, count, true);
  const classic = await rounds({ LAMBDA_CELLS: '0' }, Math.max(3, Math.ceil(count / 2)), false);
  const image = withCells.image;
  const dockerRun: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await command('docker', ['run', '--rm', '--network', 'none', '--entrypoint', 'node', image, '-e', 'console.log(1)']);
    dockerRun.push(performance.now() - start);
  }
  return { cells: withCells.times, fromCell: withCells.fromCell, classic: classic.times, dockerRun, cellMemory: withCells.cellMemory };
}

if (process.argv[1]?.endsWith('cold-start.ts')) {
  const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))];
  const show = (values: number[]) =>
    `min ${Math.min(...values).toFixed(1)} ms, p50 ${percentile(values, 50).toFixed(1)} ms, p95 ${percentile(values, 95).toFixed(1)} ms (n=${values.length})`;
  await requireDocker();
  await useCompiledServer();
  const figures = await measureColdStarts(Number(process.env.ROUNDS ?? 10));
  console.log(`cold start with cells:    ${show(figures.cells)}, ${figures.fromCell} from a cell`);
  console.log(`cold start without cells: ${show(figures.classic)}`);
  console.log(`docker run node -e:       ${show(figures.dockerRun)}`);
  console.log(`one waiting cell:         ${JSON.stringify(figures.cellMemory)}`);
}
