// `lambda list`: every function with its live version.
import type { Command } from 'commander';
import { endpointOf } from '../config.js';
import { isRecord, malformed, readJson, send, type Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { renderFunctionsTable } from '../render.js';
import { examples, type Verb } from './verb.js';

export const listVerb: Verb = {
  name: 'list',
  summary: 'list functions and their live versions',
  ssh: true,
  register(program, context) {
    program
      .command('list')
      .description(this.summary)
      .addHelpText('after', examples('lambda list', 'lambda list --json'))
      .action(async (_options: unknown, command: Command) => {
        await list(context(command));
      });
  },
};

export interface LiveVersion {
  readonly version: number;
  readonly sha: string;
  readonly image: string;
  readonly deployedAt: string;
}

export interface FunctionSummary {
  readonly name: string;
  readonly url: string;
  readonly live: LiveVersion | null;
  /** The async queue: calls waiting or running, and when the oldest waiting one was queued. */
  readonly queue?: QueueInfo;
}

export interface QueueInfo {
  readonly depth: number;
  readonly oldestWaiting: string | null;
}

/** Prints the functions as a table, or as a JSON array with --json. */
export async function list(ctx: CommandContext): Promise<void> {
  const functions = await listFunctions(await endpointOf(ctx.io.env));
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(functions, null, 2)}\n` : renderFunctionsTable(functions));
}

/** GET /api/v1/functions (also how `lambda login` checks a token). */
export async function listFunctions(endpoint: Endpoint): Promise<FunctionSummary[]> {
  const res = await send(endpoint, '/api/v1/functions', { method: 'GET' });
  const body = await readJson(res);
  if (!isRecord(body) || !Array.isArray(body.functions)) throw malformed('the function list');
  return body.functions.map(toFunctionSummary);
}

export function toQueue(value: unknown): QueueInfo {
  if (!isRecord(value)) return { depth: 0, oldestWaiting: null };
  return { depth: Number(value.depth ?? 0), oldestWaiting: typeof value.oldestWaiting === 'string' ? value.oldestWaiting : null };
}

function toFunctionSummary(value: unknown): FunctionSummary {
  if (!isRecord(value) || typeof value.name !== 'string') throw malformed('the function list');
  const live = isRecord(value.live)
    ? {
        version: Number(value.live.version),
        sha: String(value.live.sha ?? ''),
        image: String(value.live.image ?? ''),
        deployedAt: String(value.live.deployedAt ?? ''),
      }
    : null;
  return { name: value.name, url: typeof value.url === 'string' ? value.url : '', live, queue: toQueue(value.queue) };
}
