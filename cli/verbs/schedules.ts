// `lambda schedule N --cron EXPR [--payload JSON] [--overlap skip|allow]`, `lambda schedules N`, `lambda unschedule N ID`.
import type { Command } from 'commander';
import { endpointOf } from '../config.js';
import { usageError } from '../errors.js';
import { functionPath, isRecord, JSON_HEADERS, malformed, readJson, send, type Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';
import { renderTable } from '../render.js';
import { examples, type Verb } from './verb.js';

export const scheduleVerb: Verb = {
  name: 'schedule',
  summary: 'run a function on a cron schedule (5 fields, or 6 with seconds first; UTC); kept across deploys',
  ssh: true,
  register(program, context) {
    program
      .command('schedule')
      .description(this.summary)
      .argument('<name>', 'the function')
      .requiredOption('--cron <expr>', 'the cron expression, e.g. "0 * * * *" or "*/10 * * * * *"')
      .option('--payload <json>', 'the event to send (default: an EventBridge-style scheduled event)')
      .option('--overlap <mode>', 'skip: never two firings of this schedule at once (default); allow')
      .addHelpText('after', examples(`lambda schedule greet --cron "0 * * * *" --payload '{"name":"cron"}'`))
      .action(async (name: string, options: { cron: string; payload?: string; overlap?: string }, command: Command) => {
        await schedule(context(command), { name, ...options });
      });
  },
};

export const schedulesVerb: Verb = {
  name: 'schedules',
  summary: "list a function's schedules, from lambda.yaml and from `lambda schedule`",
  ssh: true,
  register(program, context) {
    program
      .command('schedules')
      .description(this.summary)
      .argument('<name>', 'the function')
      .action(async (name: string, _options: unknown, command: Command) => {
        await schedules(context(command), { name });
      });
  },
};

export const unscheduleVerb: Verb = {
  name: 'unschedule',
  summary: 'remove a schedule added with `lambda schedule`',
  ssh: true,
  register(program, context) {
    program
      .command('unschedule')
      .description(this.summary)
      .argument('<name>', 'the function')
      .argument('<id>', 'the schedule id, as `lambda schedules` shows it')
      .action(async (name: string, id: string, _options: unknown, command: Command) => {
        await unschedule(context(command), { name, id });
      });
  },
};

export interface ScheduleEntry {
  readonly id: string;
  readonly source: string;
  readonly cron: string;
  readonly payload: unknown;
  readonly overlap: string;
  readonly createdAt: string;
  readonly lastFired: string | null;
}

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
  const created = await addSchedule(await endpointOf(ctx.io.env), name, { cron: options.cron, payload: options.payload, overlap: options.overlap });
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(created, null, 2)}\n` : `Scheduled ${name} ${created.id}: "${created.cron}" (overlap ${created.overlap})\n`);
}

/** Prints ID, SOURCE (lambda.yaml or cli), CRON, OVERLAP, LAST FIRED and PAYLOAD. */
export async function schedules(ctx: CommandContext, options: { name: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  const list = await listSchedules(await endpointOf(ctx.io.env), name);
  if (ctx.json) ctx.io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
  else ctx.io.stdout.write(list.length === 0 ? `${name} has no schedules. Add one with \`lambda schedule ${name} --cron "0 * * * *"\`.\n` : renderSchedules(list));
}

/** Removes a CLI schedule; one from lambda.yaml is refused (LAMBDA_ERR_SCHEDULE_IN_MANIFEST, exit 1), an unknown id exits 4. */
export async function unschedule(ctx: CommandContext, options: { name: string; id: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  await removeSchedule(await endpointOf(ctx.io.env), name, options.id);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify({ id: options.id, removed: true }, null, 2)}\n` : `Removed schedule ${options.id} of ${name}\n`);
}

function renderSchedules(list: readonly ScheduleEntry[]): string {
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

/** GET /api/v1/functions/:name/schedules. */
async function listSchedules(endpoint: Endpoint, name: string): Promise<ScheduleEntry[]> {
  const body = await readJson(await send(endpoint, functionPath(name, '/schedules'), { method: 'GET' }));
  if (!isRecord(body) || !Array.isArray(body.schedules)) throw malformed('the schedule list');
  return body.schedules.map(toSchedule);
}

/** POST /api/v1/functions/:name/schedules; `payload` is JSON text. */
async function addSchedule(endpoint: Endpoint, name: string, input: { cron: string; payload?: string; overlap?: string }): Promise<ScheduleEntry> {
  const request = { cron: input.cron, overlap: input.overlap, ...(input.payload === undefined ? {} : { payload: JSON.parse(input.payload) as unknown }) };
  const res = await send(endpoint, functionPath(name, '/schedules'), { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(request) });
  return toSchedule(await readJson(res));
}

/** DELETE /api/v1/functions/:name/schedules/:id. */
async function removeSchedule(endpoint: Endpoint, name: string, id: string): Promise<void> {
  const res = await send(endpoint, functionPath(name, `/schedules/${encodeURIComponent(id)}`), { method: 'DELETE' });
  await res.body?.cancel();
}

function toSchedule(value: unknown): ScheduleEntry {
  if (!isRecord(value) || typeof value.id !== 'string' || typeof value.cron !== 'string') throw malformed('a schedule');
  return {
    id: value.id,
    source: String(value.source ?? ''),
    cron: value.cron,
    payload: value.payload ?? null,
    overlap: String(value.overlap ?? ''),
    createdAt: String(value.createdAt ?? ''),
    lastFired: typeof value.lastFired === 'string' ? value.lastFired : null,
  };
}
