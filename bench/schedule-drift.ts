// Schedule drift: a `*/1 * * * * *` schedule for a bounded run (LAMBDA_BENCH_DRIFT_SECONDS, 60 by
// default), comparing each firing with its cron time: when the scheduler fired it (its `fired … N ms after its time`
// line) and when the handler started (the time the shim stamped on the handler's own output line).
// `node --import tsx bench/schedule-drift.ts` runs it.
import { fixture, requireDocker, startLambda } from '../test/helpers/lambda.js';

export interface DriftFigures {
  /** Firings seen. */
  firings: number;
  /** Scheduler: fired minus cron time, ms. */
  fired: number[];
  /** Handler: its output line's time minus cron time, ms. */
  handler: number[];
  /** Cron times fired twice (must be 0). */
  duplicates: number;
}

export async function measureScheduleDrift(seconds = Number(process.env.LAMBDA_BENCH_DRIFT_SECONDS ?? 60)): Promise<DriftFigures> {
  await requireDocker();
  const lambda = await startLambda();
  try {
    const push = await lambda.push('drift', fixture('jobs'), { files: { 'lambda.yaml': 'runtime: node20\nhandler: index.handler\nschedules:\n  - cron: "*/1 * * * * *"\n' } });
    if (push.code !== 0) throw new Error(`could not deploy: ${push.stderr}`);
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const response = await lambda.api('/api/v1/functions/drift/logs?tail=0');
    const entries = (await response.text()).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { time: string; text: string });
    const fired: number[] = [];
    const handler: number[] = [];
    const times: string[] = [];
    for (const entry of entries) {
      if (Date.parse(entry.time) < started) continue;
      const firing = / fired for \S+ \((\d+) ms after its time\)$/.exec(entry.text);
      if (firing) fired.push(Number(firing[1]));
      const tick = /^tick \S+ (\S+) /.exec(entry.text);
      if (tick) {
        times.push(tick[1] as string);
        handler.push(Date.parse(entry.time) - Date.parse(tick[1] as string));
      }
    }
    return { firings: times.length, fired, handler, duplicates: times.length - new Set(times).size };
  } finally {
    await lambda.destroy();
  }
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await measureScheduleDrift();
  const show = (values: number[]) => `p50 ${percentile(values, 50)} ms, p99 ${percentile(values, 99)} ms, max ${Math.max(...values)} ms (n=${values.length})`;
  console.log(`schedule */1 * * * * *: ${figures.firings} firings, ${figures.duplicates} duplicates`);
  console.log(`  scheduler fired after cron time: ${show(figures.fired)}`);
  console.log(`  handler started after cron time: ${show(figures.handler)}`);
}
