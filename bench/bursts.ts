// `node --import tsx bench/bursts.ts`: 30 distinct idle functions called at once, a first burst (the pool at its
// floor) and a repeated one (the pool grown to what it saw), against 30 cold starts one after another in the same
// run, and against 30 `docker run`s of the same image at once (what a burst costs with no platform at all); the
// waiting cells' memory at rest and after the burst (the engine's figure for each container). BENCH_BOOTS
// sets LAMBDA_BOOTS (0: twice the cores). Loopback only; the server and its containers are removed.
import { pathToFileURL } from 'node:url';
import { command, requireDocker, startLambda, type Lambda } from '../test/helpers/lambda.js';

export interface BurstRow {
  figure: string;
  measured: string;
  target: string;
  baseline: string;
}

const COUNT = 30;
const HANDLER = 'export const handler = async (event) => ({ path: event.rawPath });\n';
export const ms = (value: number) => `${Math.round(value)} ms`;
const at = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
export const spread = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `p50 ${ms(at(sorted, 50))}, p90 ${ms(at(sorted, 90))}, max ${ms(sorted.at(-1) ?? 0)}`;
};

export async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Containers of the installation: running ones with their lambda.cell and lambda.function labels and memory. */
export async function containers(lambda: Lambda): Promise<{ id: string; cell: string; fn: string }[]> {
  const { stdout } = await command('docker', ['ps', '--filter', `label=lambda.server=${lambda.serverId()}`, '--format', '{{.ID}}|{{.Label "lambda.cell"}}|{{.Label "lambda.function"}}|{{.Names}}']);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, cell, fn, name] = line.split('|');
      // A cell that became an instance is renamed after its function; a waiting one keeps its cell name.
      return { id, cell, fn: fn || (cell && !name.startsWith('lambda-cell-') ? name : '') };
    });
}

/** The pool's ready node20 cells, as the server's own gauge says (booted and warmed, not only created). */
async function readyCells(lambda: Lambda): Promise<number> {
  const text = await (await lambda.api('/metrics')).text();
  return Number(/^lambda_cells\{runtime="node20",state="ready"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

const waitingCells = async (lambda: Lambda) => (await containers(lambda)).filter((c) => c.cell === 'node20' && c.fn === '');

/** The waiting cells' memory together, as the engine counts it (MiB). */
async function poolMemory(lambda: Lambda): Promise<string> {
  const cells = await waitingCells(lambda);
  if (cells.length === 0) return '0 cells';
  const { stdout } = await command('docker', ['stats', '--no-stream', '--format', '{{.MemUsage}}', ...cells.map((c) => c.id)]);
  const mib = stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [value, unit] = /^([\d.]+)(\w+)/.exec(line)?.slice(1) ?? ['0', 'MiB'];
      return Number(value) * (unit === 'GiB' ? 1024 : unit === 'KiB' ? 1 / 1024 : 1);
    })
    .reduce((a, b) => a + b, 0);
  return `${cells.length} cells, ${mib.toFixed(0)} MiB`;
}

/** `docker run --rm` of `image` starting node alone, `count` at once: each run's time from the common start, ms. */
async function dockerRunsAtOnce(image: string, count: number): Promise<number[]> {
  const began = performance.now();
  return Promise.all(
    Array.from({ length: count }, async () => {
      await command('docker', ['run', '--rm', '--network', 'none', '--entrypoint', 'node', image, '-e', 'console.log(1)']);
      return performance.now() - began;
    }),
  );
}

async function call(lambda: Lambda, name: string): Promise<number> {
  const began = performance.now();
  const response = await lambda.fetch(`/fn/${name}/`);
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`${name} answered ${response.status}`);
  return performance.now() - began;
}

/** Registers each of `names` over REST as a node20 function of `handler` (index.mjs) that stops after 2 s idle. */
export async function registerIdle(lambda: Lambda, names: string[], handler: string): Promise<void> {
  for (const name of names) {
    const body = { runtime: 'node20', handler: 'index.handler', idleTimeout: '2s', files: { 'index.mjs': Buffer.from(handler).toString('base64') } };
    const res = await lambda.api(`/api/v1/functions/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`registering ${name}: ${res.status} ${await res.text()}`);
  }
}

export async function measureBursts(boots = Number(process.env.BENCH_BOOTS ?? 0)): Promise<BurstRow[]> {
  const lambda = await startLambda({ LAMBDA_CELLS: '2', LAMBDA_BOOTS: String(boots) });
  const names = Array.from({ length: COUNT }, (_, i) => `burst-${String(i).padStart(2, '0')}`);
  const idle = () => until('every function to stop', async () => !(await containers(lambda)).some((c) => c.fn !== ''));
  try {
    await registerIdle(lambda, names, HANDLER);
    await idle();
    // The deploys' own starts were a burst too: let it age out of the window would take minutes, so the first burst
    // is measured on a restarted server (demand forgotten, the pool at its floor).
    await lambda.restart('SIGTERM');
    await idle();
    await until('the pool at its floor', async () => (await waitingCells(lambda)).length === 2 && (await readyCells(lambda)) === 2);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const atRest = await poolMemory(lambda);
    await (await lambda.fetch('/fn/warm-up-the-client/')).arrayBuffer();
    const first = await Promise.all(names.map((name) => call(lambda, name)));
    await idle();
    await until('the pool to grow', async () => (await readyCells(lambda)) >= COUNT);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const grown = await poolMemory(lambda);
    const repeated = await Promise.all(names.map((name) => call(lambda, name)));
    await idle();
    await until('the pool to refill', async () => (await readyCells(lambda)) >= COUNT);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const sequential: number[] = [];
    for (const name of names) sequential.push(await call(lambda, name));
    const { stdout: image } = await command('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', `lambda-fn/${names[0]}`]);
    await idle();
    const runs = await dockerRunsAtOnce(image.split('\n')[0] as string, COUNT);
    const bootsSaid = boots === 0 ? 'LAMBDA_BOOTS twice the cores' : `LAMBDA_BOOTS=${boots}`;
    return [
      { figure: `burst of ${COUNT} distinct cold functions, first (pool at its floor, ${bootsSaid})`, measured: spread(first), target: 'never worse than before (p50 3.1–3.4 s, max 3.6 s)', baseline: `${COUNT} sequential cold starts: ${spread(sequential)}` },
      { figure: `burst of ${COUNT} distinct cold functions, repeated (pool grown)`, measured: spread(repeated), target: 'p50 ≤ 100 ms, max ≤ 500 ms', baseline: `${COUNT} sequential cold starts: ${spread(sequential)}` },
      { figure: `${COUNT} \`docker run\`s of a function's image at once (node alone, no platform)`, measured: spread(runs), target: '—', baseline: `first burst: ${spread(first)}` },
      { figure: 'pool memory (waiting cells, engine figure)', measured: `at rest ${atRest}; after a burst ${grown}`, target: `≤ LAMBDA_POOL_MAX (256Mi) above the floor`, baseline: '—' },
    ];
  } finally {
    await lambda.destroy();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await requireDocker();
  const rows = await measureBursts();
  console.log('| figure | measured | target | baseline |\n| --- | --- | --- | --- |');
  for (const row of rows) console.log(`| ${row.figure} | ${row.measured} | ${row.target} | ${row.baseline} |`);
}
