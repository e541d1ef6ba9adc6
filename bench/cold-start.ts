// Cold starts (the target: "fast"): no instance of the function → its first response, on a server whose instances
// stop after 1 s idle, so each round is a real scale-from-zero on a warm server. Measured for node20 (examples/greet)
// and python3 (examples/python-greet) with the cell pool (the default) and without it (LAMBDA_CELLS=0: a container
// boots), against plain `docker run` of the same images, all in the same run. Also what one waiting cell of each
// runtime costs in memory. `node --import tsx bench/cold-start.ts` runs it alone.
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
  cellMemory?: CellMemory;
  /** The same for python3, measured in the same rounds: `docker run` runs `python3 -I -B -c`. */
  python: { cells: number[]; fromCell: number; classic: number[]; dockerRun: number[]; cellMemory?: CellMemory };
}

export interface CellMemory {
  rssMb: number;
  anonMb: number;
  cgroupMb: number;
}

/** The functions measured: each runtime's example, by its function name. */
const FUNCTIONS = [
  { name: 'greet', runtime: 'node20', dir: () => example('greet') },
  { name: 'pygreet', runtime: 'python3', dir: () => example('python-greet') },
];

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
const waitingCells = async (lambda: Lambda, runtime?: string) =>
  (await containers(lambda)).filter((c) => c.cell !== '' && c.cell !== 'files' && c.fn === '' && c.running && (runtime === undefined || c.cell === runtime));

interface Rounds {
  times: number[];
  fromCell: number;
  image: string;
  cellMemory?: CellMemory;
}

/** Times `count` cold starts of each runtime's example, one after the other, on a fresh server started with `env`. */
async function rounds(env: Record<string, string>, count: number, withCells: boolean): Promise<Map<string, Rounds>> {
  const lambda = await startLambda({ LAMBDA_IDLE_TIMEOUT: '1s', ...env });
  try {
    const found = new Map<string, Rounds>();
    for (const fn of FUNCTIONS) {
      const push = await lambda.push(fn.name, fn.dir());
      if (push.code !== 0) throw new Error(push.stderr);
      found.set(fn.name, { times: [], fromCell: 0, image: `lambda-fn/${fn.name}:${push.sha.slice(0, 12)}` });
    }
    for (let i = 0; i < count; i++) {
      for (const fn of FUNCTIONS) {
        const seen = found.get(fn.name) as Rounds;
        await until(`${fn.name} to stop`, async () => (await instancesOf(lambda, fn.name)).length === 0);
        if (withCells) {
          await until('a full pool', async () => (await waitingCells(lambda)).length === CELLS * FUNCTIONS.length);
          // Running is not booted: let the cells dial in and settle (the version's files were prepared at its deploy).
          await new Promise((resolve) => setTimeout(resolve, 1500));
          seen.cellMemory ??= await memoryOf((await waitingCells(lambda, fn.runtime))[0].id);
        } else {
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        // The first fetch() of a process costs tens of ms of client start-up: spend it on another route first.
        await (await lambda.fetch('/fn/warm-up-the-client/')).arrayBuffer();
        const start = performance.now();
        const response = await lambda.fetch(`/fn/${fn.name}/?name=bench`);
        await response.arrayBuffer();
        seen.times.push(performance.now() - start);
        if (response.status !== 200) throw new Error(`a cold start of ${fn.name} answered ${response.status}`);
        const [instance] = await instancesOf(lambda, fn.name);
        if (instance?.cell) seen.fromCell += 1;
      }
    }
    return found;
  } finally {
    await lambda.destroy();
  }
}

/** A container's main process as the host sees it (/proc), and what its cgroup is charged (docker stats). */
async function memoryOf(id: string): Promise<CellMemory | undefined> {
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

/**
 * `count` cold starts of each runtime with cells, half as many without, and `count` runs of `docker run` of each
 * example's image starting its interpreter alone.
 */
export async function measureColdStarts(count = 10): Promise<ColdStartFigures> {
  const withCells = await rounds({ LAMBDA_CELLS: String(CELLS) }, count, true);
  const classic = await rounds({ LAMBDA_CELLS: '0' }, Math.max(3, Math.ceil(count / 2)), false);
  const dockerRun = async (image: string, start: string[]): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const began = performance.now();
      await command('docker', ['run', '--rm', '--network', 'none', '--entrypoint', start[0] as string, image, ...start.slice(1)]);
      times.push(performance.now() - began);
    }
    return times;
  };
  const node = withCells.get('greet') as Rounds;
  const python = withCells.get('pygreet') as Rounds;
  return {
    cells: node.times,
    fromCell: node.fromCell,
    classic: (classic.get('greet') as Rounds).times,
    dockerRun: await dockerRun(node.image, ['node', '-e', 'console.log(1)']),
    cellMemory: node.cellMemory,
    python: {
      cells: python.times,
      fromCell: python.fromCell,
      classic: (classic.get('pygreet') as Rounds).times,
      dockerRun: await dockerRun(python.image, ['python3', '-I', '-B', '-c', 'print(1)']),
      cellMemory: python.cellMemory,
    },
  };
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
  console.log(`python3 cold start with cells:    ${show(figures.python.cells)}, ${figures.python.fromCell} from a cell`);
  console.log(`python3 cold start without cells: ${show(figures.python.classic)}`);
  console.log(`docker run python3 -c:            ${show(figures.python.dockerRun)}`);
  console.log(`one waiting python3 cell:         ${JSON.stringify(figures.python.cellMemory)}`);
}
