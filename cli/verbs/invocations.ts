// `lambda invocations N [ID] [--status failed]`, `lambda dlq N`, `lambda dlq replay N ID`: async calls and their results.
import type { Command } from 'commander';
import { endpointOf } from '../config.js';
import { usageError } from '../errors.js';
import { functionPath, isRecord, malformed, readJson, send, type Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';
import { escapeControl, renderTable } from '../render.js';
import { toQueue, type QueueInfo } from './list.js';
import { examples, plural, type Verb } from './verb.js';

export const invocationsVerb: Verb = {
  name: 'invocations',
  summary: "list a function's async calls (newest first) and its queue, or show one call's result",
  ssh: true,
  register(program, context) {
    program
      .command('invocations')
      .description(this.summary)
      .argument('<name>', 'the function')
      .argument('[id]', 'one invocation, as `lambda invoke --async` printed it: its status, attempts, times and result or error')
      .option('--status <status>', 'only queued, running, succeeded, failed or replayed calls')
      .addHelpText('after', examples('lambda invocations greet --status failed', 'lambda invocations greet 0b9f6a52-4a8e-4d0c-9a51-1d1b5a0c2f11'))
      .action(async (name: string, id: string | undefined, options: { status?: string }, command: Command) => {
        if (id === undefined) await invocations(context(command), { name, status: options.status });
        else if (options.status !== undefined) throw usageError('--status filters the list; with an invocation id it has nothing to filter');
        else await invocation(context(command), { name, id });
      });
  },
};

export const dlqVerb: Verb = {
  name: 'dlq',
  summary: 'list the dead letters of a function (`dlq N`), or queue one again (`dlq replay N ID`)',
  ssh: true,
  register(program, context) {
    program
      .command('dlq')
      .description(this.summary)
      .argument('<name>', 'the function, or "replay"')
      .argument('[args...]', 'with replay: the function and the invocation id')
      .addHelpText('after', examples('lambda dlq greet', 'lambda dlq replay greet 0b9f6a52-4a8e-4d0c-9a51-1d1b5a0c2f11'))
      .action(async (first: string, rest: string[], _options: unknown, command: Command) => {
        if (first === 'replay' && rest.length > 0) {
          if (rest.length !== 2) throw usageError('usage: lambda dlq replay NAME ID');
          await dlqReplay(context(command), { name: rest[0] as string, id: rest[1] as string });
        } else if (rest.length > 0) {
          throw usageError('usage: lambda dlq NAME, or lambda dlq replay NAME ID');
        } else {
          await dlq(context(command), { name: first });
        }
      });
  },
};

export interface InvocationEntry {
  readonly id: string;
  readonly status: string;
  readonly kind: string;
  readonly attempts: number;
  readonly payload: unknown;
  readonly error: string | null;
  /** The handler's answer, as JSON text. */
  readonly result: string | null;
  readonly replayOf: string | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
}

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'replayed'];

/** Prints the newest calls (ID, STATUS, ATTEMPTS, CREATED, ERROR) and the queue's depth and oldest waiting call. */
export async function invocations(ctx: CommandContext, options: { name: string; status?: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  if (options.status !== undefined && !STATUSES.includes(options.status)) throw usageError(`--status: expected one of ${STATUSES.join(', ')}, got "${options.status.slice(0, 40)}"`);
  const { invocations: list, queue } = await listInvocations(await endpointOf(ctx.io.env), name, options.status);
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify({ invocations: list, queue }, null, 2)}\n`);
    return;
  }
  const waiting = `Queue: ${queue.depth} waiting or running${queue.oldestWaiting ? `, oldest queued at ${queue.oldestWaiting}` : ''}\n`;
  ctx.io.stdout.write(list.length === 0 ? `${waiting}No invocations${options.status ? ` with status ${options.status}` : ''}.\n` : waiting + renderInvocations(list));
}

/**
 * Prints one async call: its status and attempts, when it was queued and finished, and the handler's result or the
 * error. Exit 0 whatever the call's own outcome (the status line says it); an unknown id: exit 4.
 */
export async function invocation(ctx: CommandContext, options: { name: string; id: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  const entry = await getInvocation(await endpointOf(ctx.io.env), name, options.id);
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify(entry, null, 2)}\n`);
    return;
  }
  const lines: [string, string][] = [['Status', statusLine(entry)]];
  if (entry.replayOf) lines.push(['Replay of', entry.replayOf]);
  lines.push(['Queued', entry.createdAt]);
  if (entry.finishedAt) lines.push(['Finished', entry.finishedAt]);
  if (entry.result !== null) lines.push(['Result', escapeControl(entry.result)]);
  if (entry.error !== null) lines.push(['Error', escapeControl(entry.error)]);
  ctx.io.stdout.write(`Invocation ${entry.id} of ${name}\n${lines.map(([label, value]) => `${`${label}:`.padEnd(11)}${value}\n`).join('')}`);
}

/** Prints the dead letters: calls that failed every attempt, with their error, attempts and payload. */
export async function dlq(ctx: CommandContext, options: { name: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  const list = await listDeadLetters(await endpointOf(ctx.io.env), name);
  if (ctx.json) ctx.io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
  else ctx.io.stdout.write(list.length === 0 ? `${name} has no dead letters.\n` : renderInvocations(list, true));
}

/** Queues a dead letter's payload again as a new call and prints its id; an unknown id exits 4. */
export async function dlqReplay(ctx: CommandContext, options: { name: string; id: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  const replayed = await replayDeadLetter(await endpointOf(ctx.io.env), name, options.id);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(replayed, null, 2)}\n` : `Replayed ${replayed.replayOf} as ${replayed.invocationId}\n`);
}

/** `succeeded after 1 attempt`, `running (attempt 2)`, `queued`, `queued (1 attempt so far)`. */
function statusLine(entry: InvocationEntry): string {
  if (entry.status === 'running') return `running (attempt ${entry.attempts})`;
  if (entry.status === 'queued') return entry.attempts === 0 ? 'queued' : `queued (${plural(entry.attempts, 'attempt')} so far)`;
  return `${entry.status} after ${plural(entry.attempts, 'attempt')}`;
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

/** GET /api/v1/functions/:name/invocations[?status=]. */
async function listInvocations(endpoint: Endpoint, name: string, status?: string): Promise<{ invocations: InvocationEntry[]; queue: QueueInfo }> {
  const query = status === undefined ? '' : `?status=${encodeURIComponent(status)}`;
  const body = await readJson(await send(endpoint, functionPath(name, `/invocations${query}`), { method: 'GET' }));
  if (!isRecord(body) || !Array.isArray(body.invocations) || !isRecord(body.queue)) throw malformed('the invocation list');
  return { invocations: body.invocations.map(toInvocation), queue: toQueue(body.queue) };
}

/** GET /api/v1/functions/:name/invocations/:id. */
async function getInvocation(endpoint: Endpoint, name: string, id: string): Promise<InvocationEntry> {
  return toInvocation(await readJson(await send(endpoint, functionPath(name, `/invocations/${encodeURIComponent(id)}`), { method: 'GET' })));
}

/** GET /api/v1/functions/:name/dlq. */
async function listDeadLetters(endpoint: Endpoint, name: string): Promise<InvocationEntry[]> {
  const body = await readJson(await send(endpoint, functionPath(name, '/dlq'), { method: 'GET' }));
  if (!isRecord(body) || !Array.isArray(body.invocations)) throw malformed('the dead-letter list');
  return body.invocations.map(toInvocation);
}

/** POST /api/v1/functions/:name/dlq/:id/replay: the new call's id. */
async function replayDeadLetter(endpoint: Endpoint, name: string, id: string): Promise<{ invocationId: string; replayOf: string }> {
  const body = await readJson(await send(endpoint, functionPath(name, `/dlq/${encodeURIComponent(id)}/replay`), { method: 'POST' }));
  if (!isRecord(body) || typeof body.invocationId !== 'string') throw malformed('the replayed invocation');
  return { invocationId: body.invocationId, replayOf: String(body.replayOf ?? id) };
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
