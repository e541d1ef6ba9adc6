// Rollback time (the target: the previous version serves within 100 ms of a rollback): from the rollback call to the
// first response of the version rolled back to, while one client calls the function back to back. Alternates between
// two versions whose images are kept, so each round is a switch, never a build; 2 s apart, so the pre-started cells
// the previous round used are refilled (as they are between two rollbacks a person makes). `node --import tsx bench/rollback.ts`
// runs it alone; `measureRollback` is for bench/run.ts.
import { example, requireDocker, startLambda, type Lambda } from '../test/helpers/lambda.js';

export interface RollbackFigures {
  /** Call → first response of the target version, ms, one per round. */
  switchMs: number[];
  /** Call → the API's answer, ms. */
  apiMs: number[];
  /** Answers other than 2xx seen by the calling client during every round. */
  failures: number;
}

const greeting = (word: string) => ({ 'lambda.yaml': `runtime: node20\nhandler: index.handler\nenv:\n  GREETING: ${word}\n` });

/** Deploys two versions of `rollback-bench` on `lambda` and rolls back and forth `rounds` times. */
export async function measureRollback(lambda: Lambda, rounds = 9): Promise<RollbackFigures> {
  for (const word of ['Old', 'New']) {
    const push = await lambda.push('rollback-bench', example('greet'), { files: greeting(word) });
    if (push.code !== 0) throw new Error(`push failed: ${push.stderr}`);
  }
  const figures: RollbackFigures = { switchMs: [], apiMs: [], failures: 0 };
  let target = 'v1';
  for (let round = 0; round < rounds; round++) {
    const word = target === 'v1' ? 'Old' : 'New';
    // A rollback is an operator's act, not a loop: the pre-started cells the last one used are refilled first.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    // Warm: the live version answers before the clock starts.
    await (await lambda.fetch('/fn/rollback-bench/?name=b')).arrayBuffer();
    let seen: number | undefined;
    let polling = true;
    const start = performance.now();
    const poller = (async () => {
      const deadline = start + 30_000;
      while (polling && performance.now() < deadline) {
        const response = await lambda.fetch('/fn/rollback-bench/?name=b');
        const body = await response.text();
        if (response.status < 200 || response.status > 299) figures.failures += 1;
        if (body.includes(`${word}, b!`)) {
          seen = performance.now() - start;
          return;
        }
      }
    })();
    const response = await lambda.api('/api/v1/functions/rollback-bench/rollback', { method: 'POST', body: JSON.stringify({ to: target }) });
    const apiMs = performance.now() - start;
    if (response.status !== 200) throw new Error(`rollback answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
    await poller;
    polling = false;
    if (seen === undefined) throw new Error(`v${target} never answered within 30 s`);
    figures.switchMs.push(seen);
    figures.apiMs.push(apiMs);
    target = target === 'v1' ? 'v2' : 'v1';
  }
  return figures;
}

export const p50 = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function main(): Promise<void> {
  await requireDocker();
  const lambda = await startLambda();
  try {
    const figures = await measureRollback(lambda);
    const show = (values: number[]) => values.map((v) => v.toFixed(1)).join(', ');
    console.log(`rollback call → first response of the target version: p50 ${p50(figures.switchMs).toFixed(1)} ms (target ≤ 100 ms); rounds: ${show(figures.switchMs)}`);
    console.log(`rollback API answer: p50 ${p50(figures.apiMs).toFixed(1)} ms; non-2xx answers during rollbacks: ${figures.failures}`);
  } finally {
    await lambda.destroy();
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) await main();
