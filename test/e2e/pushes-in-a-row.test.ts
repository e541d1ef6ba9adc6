// End to end: pushes in a row and pushes at once all deploy while pruning removes older images, and pruning leaves
// none of the images it made dangling. The engine's build cache walks every child of a step's parent, shared by
// every node20 function; an image removed during that walk would fail an unrelated build.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { example, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';
import { eventually } from '../helpers/load.js';

const run = promisify(execFile);
const KEEP = 1;
const IN_A_ROW = 60;
const AT_ONCE = 10;
let lambda: Lambda;
/** Every image id in the chain of every version built here (its own steps and the shared ones below them). */
const made = new Set<string>();

const code = (n: number) => ({ 'index.js': `export const handler = async () => ({ push: ${n} });\n` });

async function chainOf(tag: string): Promise<string[]> {
  const { stdout } = await run('docker', ['history', '-q', '--no-trunc', tag]);
  return stdout.split('\n').filter((id) => id.startsWith('sha256:'));
}

/** Pushes and, once deployed, notes the chain of the version's image. */
async function push(name: string, n: number): Promise<{ code: number; stderr: string }> {
  const result = await lambda.push(name, example('greet'), { files: code(n) });
  if (result.code === 0) for (const id of await chainOf(`lambda-fn/${name}:${result.sha.slice(0, 12)}`)) made.add(id);
  return result;
}

async function keptImages(name: string): Promise<number> {
  const { versions } = (await (await lambda.api(`/api/v1/functions/${name}/versions`)).json()) as { versions: { imageKept: boolean }[] };
  return versions.filter((version) => version.imageKept).length;
}

/** Images made here that the engine still has, untagged, and that no image (of any repository) builds on. */
async function danglingOfOurs(): Promise<string[]> {
  const ids = (await run('docker', ['images', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  const { stdout } = await run('docker', ['image', 'inspect', '--format', '{{.Id}} {{.Parent}} {{len .RepoTags}}', ...ids], { maxBuffer: 64 * 1024 * 1024 }).catch((error: { stdout: string }) => error);
  const images = stdout.split('\n').filter(Boolean).map((line) => line.split(' ')) as [string, string, string][];
  const parents = new Set(images.map(([, parent]) => parent));
  return images.filter(([id, , tags]) => made.has(id) && tags === '0' && !parents.has(id)).map(([id]) => id);
}

test.before(async () => {
  await requireDocker();
  lambda = await startLambda({ LAMBDA_KEEP_IMAGES: String(KEEP) });
});

test.after.always(async () => {
  await lambda?.destroy();
});

test.serial(`${IN_A_ROW} pushes in a row to one function all deploy while each prunes the one before`, async (t) => {
  const started = performance.now();
  for (let n = 1; n <= IN_A_ROW; n++) {
    const result = await push('row', n);
    t.is(result.code, 0, `push ${n}: ${result.stderr}`);
    if (result.code !== 0) return;
  }
  t.log(`${IN_A_ROW} pushes in a row: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  t.deepEqual(await (await lambda.fetch('/fn/row/')).json(), { push: IN_A_ROW });
});

test.serial(`${AT_ONCE} pushes to different functions at once, three rounds, all deploy`, async (t) => {
  for (let round = 1; round <= 3; round++) {
    const results = await Promise.all(Array.from({ length: AT_ONCE }, (_, i) => push(`many-${i}`, round * 100 + i)));
    results.forEach((result, i) => t.is(result.code, 0, `round ${round}, many-${i}: ${result.stderr}`));
  }
  for (let i = 0; i < AT_ONCE; i++) t.deepEqual(await (await lambda.fetch(`/fn/many-${i}/`)).json(), { push: 300 + i });
});

test.serial('once pruning is done, no image these builds made is left dangling', async (t) => {
  const names = ['row', ...Array.from({ length: AT_ONCE }, (_, i) => `many-${i}`)];
  t.true(await eventually(async () => (await Promise.all(names.map(keptImages))).every((kept) => kept === KEEP), 60_000), 'every function is pruned to its newest image');
  t.true(made.size > KEEP * names.length, 'the builds made images');
  t.deepEqual(await danglingOfOurs(), []);
});
