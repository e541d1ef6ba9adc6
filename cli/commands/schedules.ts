// `lambda schedule N --cron EXPR [--payload JSON] [--overlap skip|allow]`, `lambda schedules N`, `lambda unschedule N ID`.
import { addSchedule, listSchedules, removeSchedule, type ScheduleEntry } from '../client-jobs.js';
import { loadConfig, requireApiKey } from '../config.js';
import { usageError } from '../errors.js';
import type { Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';
import { renderTable } from '../render.js';

/**
 * Adds a schedule that persists across deploys and prints its id. The name, --payload JSON and --overlap are checked
 * before any request (exit 2); the server checks the cron and names the bad field (LAMBDA_ERR_BAD_CRON, exit 2).
 */
export async function schedule(ctx: CommandContext, options: { name: string; cron: string; payload?: string; overlap?: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  if (options.payload !== undefined) {
    try {
      JSON.parse(options.payload);
    } catch (err) {
      throw usageError(`--payload is not valid JSON: ${(err as Error).message}`, 'LAMBDA_ERR_BAD_PAYLOAD');
    }
  }
  if (options.overlap !== undefined && options.overlap !== 'skip' && options.overlap !== 'allow') throw usageError(`--overlap: expected skip or allow, got "${options.overlap.slice(0, 40)}"`);
  const created = await addSchedule(await endpointOf(ctx), name, { cron: options.cron, payload: options.payload, overlap: options.overlap });
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(created, null, 2)}\n` : `Scheduled ${name} ${created.id}: "${created.cron}" (overlap ${created.overlap})\n`);
}

/** Prints ID, SOURCE (lambda.yaml or cli), CRON, OVERLAP, LAST FIRED and PAYLOAD. */
export async function schedules(ctx: CommandContext, options: { name: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  const list = await listSchedules(await endpointOf(ctx), name);
  if (ctx.json) ctx.io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
  else ctx.io.stdout.write(list.length === 0 ? `${name} has no schedules. Add one with \`lambda schedule ${name} --cron "0 * * * *"\`.\n` : renderSchedules(list));
}

/** Removes a CLI schedule; one from lambda.yaml is refused (LAMBDA_ERR_SCHEDULE_IN_MANIFEST, exit 1), an unknown id exits 4. */
export async function unschedule(ctx: CommandContext, options: { name: string; id: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  await removeSchedule(await endpointOf(ctx), name, options.id);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify({ id: options.id, removed: true }, null, 2)}\n` : `Removed schedule ${options.id} of ${name}\n`);
}

export function renderSchedules(list: readonly ScheduleEntry[]): string {
  const rows = list.map((entry) => [
    entry.id,
    entry.source === 'manifest' ? 'lambda.yaml' : entry.source,
    entry.cron,
    entry.overlap,
    entry.lastFired ?? '-',
    entry.payload === null ? '(scheduled event)' : JSON.stringify(entry.payload).slice(0, 60),
  ]);
  return renderTable(['ID', 'SOURCE', 'CRON', 'OVERLAP', 'LAST FIRED', 'PAYLOAD'], rows);
}

export async function endpointOf(ctx: CommandContext): Promise<Endpoint> {
  const config = await loadConfig(ctx.io.env);
  return { url: config.url, apiKey: requireApiKey(config) };
}
