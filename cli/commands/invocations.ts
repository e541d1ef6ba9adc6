// `lambda invocations N [--status failed]`, `lambda dlq N`, `lambda dlq replay N ID`: the async queue.
import { listDeadLetters, listInvocations, replayDeadLetter, type InvocationEntry } from '../client-jobs.js';
import { usageError } from '../errors.js';
import type { CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';
import { renderTable } from '../render.js';
import { endpointOf } from './schedules.js';

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'replayed'];

/** Prints the newest calls (ID, STATUS, ATTEMPTS, CREATED, ERROR) and the queue's depth and oldest waiting call. */
export async function invocations(ctx: CommandContext, options: { name: string; status?: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  if (options.status !== undefined && !STATUSES.includes(options.status)) throw usageError(`--status: expected one of ${STATUSES.join(', ')}, got "${options.status.slice(0, 40)}"`);
  const { invocations: list, queue } = await listInvocations(await endpointOf(ctx), name, options.status);
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify({ invocations: list, queue }, null, 2)}\n`);
    return;
  }
  const waiting = `Queue: ${queue.depth} waiting or running${queue.oldestWaiting ? `, oldest queued at ${queue.oldestWaiting}` : ''}\n`;
  ctx.io.stdout.write(list.length === 0 ? `${waiting}No invocations${options.status ? ` with status ${options.status}` : ''}.\n` : waiting + renderInvocations(list));
}

/** Prints the dead letters: calls that failed every attempt, with their error, attempts and payload. */
export async function dlq(ctx: CommandContext, options: { name: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  const list = await listDeadLetters(await endpointOf(ctx), name);
  if (ctx.json) ctx.io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
  else ctx.io.stdout.write(list.length === 0 ? `${name} has no dead letters.\n` : renderInvocations(list, true));
}

/** Queues a dead letter's payload again as a new call and prints its id; an unknown id exits 4. */
export async function dlqReplay(ctx: CommandContext, options: { name: string; id: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  const replayed = await replayDeadLetter(await endpointOf(ctx), name, options.id);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(replayed, null, 2)}\n` : `Replayed ${replayed.replayOf} as ${replayed.invocationId}\n`);
}

function renderInvocations(list: readonly InvocationEntry[], withPayload = false): string {
  const header = ['ID', 'STATUS', 'ATTEMPTS', 'CREATED', 'ERROR', ...(withPayload ? ['PAYLOAD'] : [])];
  const rows = list.map((entry) => [
    entry.id,
    entry.status,
    String(entry.attempts),
    entry.createdAt,
    oneLine(entry.error ?? '-', 80),
    ...(withPayload ? [oneLine(JSON.stringify(entry.payload), 80)] : []),
  ]);
  return renderTable(header, rows);
}

function oneLine(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
