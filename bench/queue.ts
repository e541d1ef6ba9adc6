// Async queue throughput: N calls (LAMBDA_BENCH_QUEUE_CALLS, 500) of a trivial function queued through
// the REST API with 16 clients, then the time until the workers have run them all.
// `node --import tsx bench/queue.ts` runs it.
import { fixture, requireDocker, startLambda } from '../test/helpers/lambda.js';

export interface QueueFigures {
  calls: number;
  /** Calls queued per second (202 answers). */
  enqueuePerSecond: number;
  /** Calls run per second, from the first queued to the last finished. */
  runPerSecond: number;
  failed: number;
}

export async function measureQueue(calls = Number(process.env.LAMBDA_BENCH_QUEUE_CALLS ?? 500)): Promise<QueueFigures> {
  await requireDocker();
  const lambda = await startLambda();
  try {
    const push = await lambda.push('queued', fixture('jobs'));
    if (push.code !== 0) throw new Error(`could not deploy: ${push.stderr}`);
    // Warm: one call, so the measurement is the queue's, not a cold start's.
    await lambda.api('/api/v1/functions/queued/invoke', { method: 'POST', body: '{"mark":"warm"}' });
    const started = Date.now();
    let next = 0;
    const client = async () => {
      while (next < calls) {
        next += 1;
        const response = await lambda.api('/api/v1/functions/queued/invoke', { method: 'POST', headers: { 'x-lambda-invocation-type': 'Event' }, body: `{"mark":"q${next}"}` });
        if (response.status !== 202) throw new Error(`queueing answered ${response.status}: ${await response.text()}`);
        await response.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 16 }, client));
    const queued = Date.now();
    const deadline = Date.now() + 300_000;
    for (;;) {
      const fn = (await (await lambda.api('/api/v1/functions/queued')).json()) as { queue: { depth: number } };
      if (fn.queue.depth === 0) break;
      if (Date.now() > deadline) throw new Error(`still ${fn.queue.depth} calls waiting`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const done = Date.now();
    const failed = ((await (await lambda.api('/api/v1/functions/queued/invocations?status=failed')).json()) as { invocations: unknown[] }).invocations.length;
    return { calls, enqueuePerSecond: calls / ((queued - started) / 1000), runPerSecond: calls / ((done - started) / 1000), failed };
  } finally {
    await lambda.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await measureQueue();
  console.log(`async queue, trivial function: ${figures.calls} calls, queued ${figures.enqueuePerSecond.toFixed(0)}/s, run ${figures.runPerSecond.toFixed(0)}/s end to end, ${figures.failed} failed`);
}
