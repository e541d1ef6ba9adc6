// git push → live for a Go function (hello.go): with a cold build cache (the function's first build: the standard
// library compiled into its cache) and a warm one (a code change: the kept cache serves all but the changed
// package), beside node20's push → live in the same run. The Go build image and the shim's base image are made
// before the clock starts, once per machine, as node20's base image is. `node --import tsx bench/go-push.ts` runs it alone.
import { example, fixture, type Lambda, requireDocker, startLambda } from '../test/helpers/lambda.js';

const WARM_PUSHES = 3;
const HELLO = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("Hello, World! push {n}")\n}\n';

export interface PushFigures {
  coldMs: number;
  warmMs: number[];
}

async function pushToLive(lambda: Lambda, name: string, dir: string, files?: Record<string, string>): Promise<number> {
  const started = performance.now();
  const push = await lambda.push(name, dir, { files });
  if (push.code !== 0) throw new Error(`push of ${name} failed:\n${push.stderr}`);
  const response = await lambda.fetch(`/fn/${name}/`);
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`${name} answered ${response.status} after its push`);
  return performance.now() - started;
}

/** Go's figures on `lambda`: a first push of a new function, then code-only pushes. */
export async function measureGoPush(lambda: Lambda): Promise<PushFigures> {
  await pushToLive(lambda, 'go-images', fixture('go-hello'));
  const coldMs = await pushToLive(lambda, 'go-push', fixture('go-hello'));
  const warmMs: number[] = [];
  for (let n = 2; n < 2 + WARM_PUSHES; n++) warmMs.push(await pushToLive(lambda, 'go-push', fixture('go-hello'), { 'hello.go': HELLO.replace('{n}', String(n)) }));
  return { coldMs, warmMs };
}

/** node20's on the same server: examples/greet, first push then changed pushes. */
export async function measureNodePush(lambda: Lambda): Promise<PushFigures> {
  await pushToLive(lambda, 'node-images', example('greet'));
  const coldMs = await pushToLive(lambda, 'node-push', example('greet'));
  const warmMs: number[] = [];
  for (let n = 2; n < 2 + WARM_PUSHES; n++) warmMs.push(await pushToLive(lambda, 'node-push', example('greet'), { 'bench.txt': `push ${n}\n` }));
  return { coldMs, warmMs };
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export function goPushRows(go: PushFigures, node: PushFigures): string[] {
  return [
    '| runtime | push → live, first push of a new function (cold build cache) | push → live, warm cache (code change), median of 3 |',
    '| --- | --- | --- |',
    `| go (hello.go) | ${seconds(go.coldMs)} | ${seconds(median(go.warmMs))} (${go.warmMs.map(seconds).join(', ')}) |`,
    `| node20 (examples/greet), baseline | ${seconds(node.coldMs)} | ${seconds(median(node.warmMs))} (${node.warmMs.map(seconds).join(', ')}) |`,
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await requireDocker();
  const lambda = await startLambda();
  try {
    const go = await measureGoPush(lambda);
    const node = await measureNodePush(lambda);
    console.log(goPushRows(go, node).join('\n'));
  } finally {
    await lambda.destroy();
  }
}
