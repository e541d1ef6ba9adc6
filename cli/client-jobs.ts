// The REST calls behind `lambda schedule|schedules|unschedule`, `invoke --async`, `invocations` and `dlq`.
import { isRecord, malformed, readJson, send, type Endpoint } from './http.js';

export interface ScheduleEntry {
  readonly id: string;
  readonly source: string;
  readonly cron: string;
  readonly payload: unknown;
  readonly overlap: string;
  readonly createdAt: string;
  readonly lastFired: string | null;
}

export interface InvocationEntry {
  readonly id: string;
  readonly status: string;
  readonly kind: string;
  readonly attempts: number;
  readonly payload: unknown;
  readonly error: string | null;
  readonly result: string | null;
  readonly replayOf: string | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
}

export interface QueueInfo {
  readonly depth: number;
  readonly oldestWaiting: string | null;
}

const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json' };
const fnPath = (name: string) => `/api/v1/functions/${encodeURIComponent(name)}`;

/** GET /api/v1/functions/:name/schedules. */
export async function listSchedules(endpoint: Endpoint, name: string): Promise<ScheduleEntry[]> {
  const body = await readJson(await send(endpoint, `${fnPath(name)}/schedules`, { method: 'GET' }));
  if (!isRecord(body) || !Array.isArray(body.schedules)) throw malformed('the schedule list');
  return body.schedules.map(toSchedule);
}

/** POST /api/v1/functions/:name/schedules; `payload` is JSON text. */
export async function addSchedule(endpoint: Endpoint, name: string, input: { cron: string; payload?: string; overlap?: string }): Promise<ScheduleEntry> {
  const request = { cron: input.cron, overlap: input.overlap, ...(input.payload === undefined ? {} : { payload: JSON.parse(input.payload) as unknown }) };
  const res = await send(endpoint, `${fnPath(name)}/schedules`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(request) });
  return toSchedule(await readJson(res));
}

/** DELETE /api/v1/functions/:name/schedules/:id. */
export async function removeSchedule(endpoint: Endpoint, name: string, id: string): Promise<void> {
  const res = await send(endpoint, `${fnPath(name)}/schedules/${encodeURIComponent(id)}`, { method: 'DELETE' });
  await res.body?.cancel();
}

/** POST /api/v1/functions/:name/invoke with X-Lambda-Invocation-Type: Event: the queued call's id. */
export async function invokeAsync(endpoint: Endpoint, name: string, payload: string): Promise<string> {
  const headers = { ...JSON_HEADERS, 'X-Lambda-Invocation-Type': 'Event' };
  const body = await readJson(await send(endpoint, `${fnPath(name)}/invoke`, { method: 'POST', headers, body: payload }));
  if (!isRecord(body) || typeof body.invocationId !== 'string') throw malformed('the queued invocation');
  return body.invocationId;
}

/** GET /api/v1/functions/:name/invocations[?status=]. */
export async function listInvocations(endpoint: Endpoint, name: string, status?: string): Promise<{ invocations: InvocationEntry[]; queue: QueueInfo }> {
  const query = status === undefined ? '' : `?status=${encodeURIComponent(status)}`;
  const body = await readJson(await send(endpoint, `${fnPath(name)}/invocations${query}`, { method: 'GET' }));
  if (!isRecord(body) || !Array.isArray(body.invocations) || !isRecord(body.queue)) throw malformed('the invocation list');
  return { invocations: body.invocations.map(toInvocation), queue: toQueue(body.queue) };
}

/** GET /api/v1/functions/:name/dlq. */
export async function listDeadLetters(endpoint: Endpoint, name: string): Promise<InvocationEntry[]> {
  const body = await readJson(await send(endpoint, `${fnPath(name)}/dlq`, { method: 'GET' }));
  if (!isRecord(body) || !Array.isArray(body.invocations)) throw malformed('the dead-letter list');
  return body.invocations.map(toInvocation);
}

/** POST /api/v1/functions/:name/dlq/:id/replay: the new call's id. */
export async function replayDeadLetter(endpoint: Endpoint, name: string, id: string): Promise<{ invocationId: string; replayOf: string }> {
  const body = await readJson(await send(endpoint, `${fnPath(name)}/dlq/${encodeURIComponent(id)}/replay`, { method: 'POST' }));
  if (!isRecord(body) || typeof body.invocationId !== 'string') throw malformed('the replayed invocation');
  return { invocationId: body.invocationId, replayOf: String(body.replayOf ?? id) };
}

export function toQueue(value: unknown): QueueInfo {
  if (!isRecord(value)) return { depth: 0, oldestWaiting: null };
  return { depth: Number(value.depth ?? 0), oldestWaiting: typeof value.oldestWaiting === 'string' ? value.oldestWaiting : null };
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

function toInvocation(value: unknown): InvocationEntry {
  if (!isRecord(value) || typeof value.id !== 'string') throw malformed('an invocation');
  return {
    id: value.id,
    status: String(value.status ?? ''),
    kind: String(value.kind ?? ''),
    attempts: Number(value.attempts ?? 0),
    payload: value.payload ?? null,
    error: typeof value.error === 'string' ? value.error : null,
    result: typeof value.result === 'string' ? value.result : null,
    replayOf: typeof value.replayOf === 'string' ? value.replayOf : null,
    createdAt: String(value.createdAt ?? ''),
    finishedAt: typeof value.finishedAt === 'string' ? value.finishedAt : null,
  };
}
