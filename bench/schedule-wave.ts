// `node --import tsx bench/schedule-wave.ts`: 30 idle functions with a schedule on one cron time, fired together; for
// each, its handler's start (the time the shim stamped on the handler's line) after the cron time. Twice in the same
// run: with schedules warming their functions ahead (LAMBDA_SCHEDULE_WARM 30s) and without (0), each on a restarted
// server whose pool is at its floor. Loopback only; the servers and their containers are removed.
import { pathToFileURL } from 'node:url';
import { requireDocker, startLambda } from '../test/helpers/lambda.js';
import { containers, registerIdle, spread, until, type BurstRow } from './bursts.js';

const COUNT = 30;
const HANDLER = 'export const handler = async (event) => { console.log(`tick ${event.time}`); return {}; };\n';

/** Handler start after the cron time, ms, for each of the wave's functions. */
async function wave(warm: string): Promise<number[]> {
  const lambda = await startLambda({ LAMBDA_CELLS: '2', LAMBDA_SCHEDULE_WARM: warm });
  const names = Array.from({ length: COUNT }, (_, i) => `wave-${String(i).padStart(2, '0')}`);
  const idle = () => until('every function to stop', async () => !(await containers(lambda)).some((c) => c.fn !== ''));
  try {
    await registerIdle(lambda, names, HANDLER);
    await idle();
    // The deploys' cold starts grew the pool: a restart forgets them, so only warming can make cells for the wave.
    await lambda.restart('SIGTERM');
    await idle();
    // One cron time (seconds field) far enough ahead for the schedules to be made and the warming to begin.
    const at = new Date(Math.ceil((Date.now() + 40_000) / 1000) * 1000);
    const cron = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
    for (const name of names) {
      const res = await lambda.api(`/api/v1/functions/${name}/schedules`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cron }) });
      if (res.status !== 201) throw new Error(`scheduling ${name}: ${res.status} ${await res.text()}`);
    }
    const started = new Map<string, number>();
    await until(
      'every function of the wave to run',
      async () => {
        for (const name of names.filter((n) => !started.has(n))) {
          const text = await (await lambda.api(`/api/v1/functions/${name}/logs?tail=0`)).text();
          for (const line of text.split('\n').filter(Boolean)) {
            const entry = JSON.parse(line) as { time: string; text: string };
            const tick = /^tick (\S+)$/.exec(entry.text);
            if (tick) started.set(name, Date.parse(entry.time) - Date.parse(tick[1] as string));
          }
        }
        return started.size === COUNT;
      },
      120_000,
    );
    return [...started.values()];
  } finally {
    await lambda.destroy();
  }
}

export async function measureScheduleWave(): Promise<BurstRow[]> {
  const warmed = await wave('30s');
  const cold = await wave('0');
  return [{ figure: `schedule wave: ${COUNT} functions on one cron time, cron time → handler started (warmed 30 s ahead)`, measured: spread(warmed), target: 'each within a cell start', baseline: `not warmed (LAMBDA_SCHEDULE_WARM=0): ${spread(cold)}` }];
}


if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await requireDocker();
  const rows = await measureScheduleWave();
  console.log('| figure | measured | target | baseline |\n| --- | --- | --- | --- |');
  for (const row of rows) console.log(`| ${row.figure} | ${row.measured} | ${row.target} | ${row.baseline} |`);
}
