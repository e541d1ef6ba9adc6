// `npm run bench:push`: push→live per runtime, with a cold build cache (a new server: no installed
// dependencies kept, so the install runs and every image layer after the base is built) and a warm one (a second
// push that changes only handler code: the install and the dependency layer are reused); then 60 pushes in a row to
// one trivial function while each prunes the image before it (LAMBDA_KEEP_IMAGES=1). Base images are assembled
// before the timing starts, once per machine. Loopback only; the servers and their containers are removed.
import { example, fixture, requireDocker, startLambda, type Lambda } from '../test/helpers/lambda.js';

interface Case {
  runtime: string;
  dir: string;
  /** The handler file a warm push rewrites, and its new text (the `{n}` makes each push a new commit). */
  file: string;
  code: string;
  path: string;
}

const CASES: Case[] = [
  {
    runtime: 'node20',
    dir: fixture('with-dependency'),
    file: 'index.mjs',
    code: "import ms from 'ms';\n\nexport const handler = async () => ({ twoDays: ms('2 days'), push: {n} });\n",
    path: '/',
  },
  {
    runtime: 'python3',
    dir: example('python-greet'),
    file: 'app.py',
    code: "from humanize import intcomma\n\n\ndef handler(event, context):\n    return {'push': {n}, 'visitors': intcomma(1000)}\n",
    path: '/',
  },
];
const WARM_PUSHES = 3;

async function pushToLive(lambda: Lambda, name: string, test: Case, files?: Record<string, string>): Promise<number> {
  const started = performance.now();
  const push = await lambda.push(name, test.dir, { files });
  if (push.code !== 0) throw new Error(`push of ${name} failed:\n${push.stderr}`);
  // Live: the push returns once the new version serves; the first answer through the gateway closes the clock.
  const response = await lambda.fetch(`/fn/${name}${test.path}`);
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`${name} answered ${response.status} after its push`);
  return performance.now() - started;
}

async function measure(test: Case): Promise<{ cold: number; warm: number[] }> {
  // The base image (assembled from this machine's programs once) is not part of either figure: warm it up first.
  const warmup = await startLambda();
  try {
    await pushToLive(warmup, `base-${test.runtime}`, test);
  } finally {
    await warmup.destroy();
  }
  const lambda = await startLambda();
  try {
    const name = `push-${test.runtime}`;
    const cold = await pushToLive(lambda, name, test);
    const warm: number[] = [];
    for (let n = 2; n < 2 + WARM_PUSHES; n++) warm.push(await pushToLive(lambda, name, test, { [test.file]: test.code.replace('{n}', String(n)) }));
    return { cold, warm };
  } finally {
    await lambda.destroy();
  }
}

const IN_A_ROW = 60;

/** 60 code changes pushed one after another to one function, each pruning the last one's image: each push's time, and the failed ones. */
async function pushesInARow(): Promise<{ times: number[]; failed: number }> {
  const lambda = await startLambda({ LAMBDA_KEEP_IMAGES: '1' });
  try {
    const times: number[] = [];
    let failed = 0;
    for (let n = 1; n <= IN_A_ROW; n++) {
      const started = performance.now();
      const push = await lambda.push('in-a-row', example('greet'), { files: { 'index.js': `export const handler = async () => ({ push: ${n} });\n` } });
      times.push(performance.now() - started);
      if (push.code !== 0) failed += 1;
    }
    return { times, failed };
  } finally {
    await lambda.destroy();
  }
}

await requireDocker();
const rows: string[] = ['| runtime | push→live, cold cache (install + build) | push→live, warm cache (code-only change), median of 3 | target (warm, trivial function) |', '| --- | --- | --- | --- |'];
for (const test of CASES) {
  const { cold, warm } = await measure(test);
  const median = [...warm].sort((a, b) => a - b)[Math.floor(warm.length / 2)];
  rows.push(`| ${test.runtime} | ${(cold / 1000).toFixed(2)} s | ${(median / 1000).toFixed(2)} s (${warm.map((value) => (value / 1000).toFixed(2)).join(', ')}) | ≤ 3 s |`);
}
console.log(rows.join('\n'));

const row = await pushesInARow();
const sorted = [...row.times].sort((a, b) => a - b);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
console.log(
  [
    '',
    `| ${IN_A_ROW} node20 pushes in a row, each pruning the last image | total | per push p50 / max | deployed | baseline |`,
    '| --- | --- | --- | --- | --- |',
    `| LAMBDA_KEEP_IMAGES=1 | ${seconds(row.times.reduce((a, b) => a + b, 0))} | ${seconds(sorted[Math.floor(sorted.length / 2)] ?? 0)} / ${seconds(sorted.at(-1) ?? 0)} | ${IN_A_ROW - row.failed} of ${IN_A_ROW} | the warm node20 push above (with a dependency) |`,
  ].join('\n'),
);
