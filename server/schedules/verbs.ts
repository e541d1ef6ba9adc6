// The schedule verbs: `schedule`, `schedules`, `unschedule`, and syncSchedules, which keeps a function's
// manifest schedules those of its live version (after a deploy, a rollback, a restart).
import { createHash, randomBytes } from 'node:crypto';
import { LambdaError } from '../errors.js';
import type { Overlap, ScheduleRecord } from '../store/types.js';
import { cronProblem } from './cron.js';
import type { Deps } from '../functions/deps.js';
import type { Manifest } from '../functions/manifest.js';
import { assertFunctionName } from '../functions/names.js';

export interface ScheduleSummary {
  id: string;
  source: ScheduleRecord['source'];
  cron: string;
  /** The payload sent, or null for the EventBridge-style event. */
  payload: unknown;
  overlap: Overlap;
  createdAt: string;
  /** The cron time last fired or reported missed (ISO), null when none yet. */
  lastFired: string | null;
}

const SCHEDULE_ID = /^[0-9a-f]{12}$/;

/**
 * Adds a schedule to `name` that persists across deploys (unlike lambda.yaml's, which follow the live version).
 * Throws LAMBDA_ERR_INVALID_NAME, LAMBDA_ERR_FUNCTION_NOT_FOUND, LAMBDA_ERR_BAD_CRON, LAMBDA_ERR_BAD_PAYLOAD, LAMBDA_ERR_BAD_REQUEST.
 */
export function addSchedule(deps: Pick<Deps, 'store' | 'background'>, input: { name: string; cron: string; payload?: string; overlap?: string }): ScheduleSummary {
  const name = assertFunctionName(input.name);
  if (!deps.store.functions.get(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
  const cron = String(input.cron ?? '').trim();
  const problem = cronProblem(cron);
  if (problem !== undefined) throw new LambdaError('LAMBDA_ERR_BAD_CRON', { cron: cron.slice(0, 100), detail: problem });
  let payload: string | null = null;
  if (input.payload !== undefined && input.payload.trim() !== '') {
    try {
      payload = JSON.stringify(JSON.parse(input.payload));
    } catch (error) {
      throw new LambdaError('LAMBDA_ERR_BAD_PAYLOAD', { detail: (error as Error).message });
    }
  }
  const overlap = input.overlap ?? 'skip';
  if (overlap !== 'skip' && overlap !== 'allow') throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: `overlap: expected skip or allow, got ${JSON.stringify(String(overlap).slice(0, 40))}` });
  const now = Date.now();
  const record: ScheduleRecord = { id: randomBytes(6).toString('hex'), fn: name, source: 'cli', cron, payload, overlap, createdAt: new Date(now).toISOString(), lastFired: now };
  deps.store.schedules.insert(record);
  deps.background.schedulesChanged(name);
  return summary(record);
}

/** Every schedule of `name`, lambda.yaml's and the CLI's. Throws LAMBDA_ERR_INVALID_NAME, LAMBDA_ERR_FUNCTION_NOT_FOUND. */
export function listSchedules(deps: Pick<Deps, 'store'>, input: { name: string }): ScheduleSummary[] {
  const name = assertFunctionName(input.name);
  if (!deps.store.functions.get(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
  return deps.store.schedules.list(name).map(summary);
}

/**
 * Removes a schedule added with `lambda schedule`; lambda.yaml's are changed by a deploy, not here.
 * Throws LAMBDA_ERR_INVALID_NAME, LAMBDA_ERR_FUNCTION_NOT_FOUND, LAMBDA_ERR_SCHEDULE_NOT_FOUND, LAMBDA_ERR_SCHEDULE_IN_MANIFEST.
 */
export function removeSchedule(deps: Pick<Deps, 'store' | 'background'>, input: { name: string; id: string }): void {
  const name = assertFunctionName(input.name);
  if (!deps.store.functions.get(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
  const id = SCHEDULE_ID.test(input.id) ? input.id : '';
  const found = id ? deps.store.schedules.get(name, id) : undefined;
  if (!found) throw new LambdaError('LAMBDA_ERR_SCHEDULE_NOT_FOUND', { name, id: JSON.stringify(String(input.id).slice(0, 40)) });
  if (found.source === 'manifest') throw new LambdaError('LAMBDA_ERR_SCHEDULE_IN_MANIFEST', { name, id });
  deps.store.schedules.remove(name, id);
  deps.background.schedulesChanged(name);
}

/**
 * Makes `fn`'s manifest schedules those of its live version (none when nothing is live). Call it whenever the live
 * version changes: deploy, rollback. A schedule the new version keeps unchanged keeps its id and last firing, so
 * it neither fires twice nor skips a beat; CLI schedules are untouched.
 */
export function syncSchedules(deps: Pick<Deps, 'store' | 'background'>, fn: string): void {
  const live = deps.store.versions.live(fn);
  const schedules = live ? ((JSON.parse(live.manifest) as Partial<Manifest>).schedules ?? []) : [];
  const now = Date.now();
  const records = schedules.map((schedule, index): ScheduleRecord => {
    const payload = schedule.payload === undefined ? null : JSON.stringify(schedule.payload);
    const overlap = schedule.overlap ?? 'skip';
    const id = createHash('sha256').update(JSON.stringify([fn, index, schedule.cron, payload, overlap])).digest('hex').slice(0, 12);
    return { id, fn, source: 'manifest', cron: schedule.cron, payload, overlap, createdAt: new Date(now).toISOString(), lastFired: now };
  });
  deps.store.schedules.replaceManifest(fn, records);
  deps.background.schedulesChanged(fn);
}

function summary(record: ScheduleRecord): ScheduleSummary {
  return {
    id: record.id,
    source: record.source,
    cron: record.cron,
    payload: record.payload === null ? null : (JSON.parse(record.payload) as unknown),
    overlap: record.overlap,
    createdAt: record.createdAt,
    lastFired: record.lastFired > Date.parse(record.createdAt) ? new Date(record.lastFired).toISOString() : null,
  };
}
