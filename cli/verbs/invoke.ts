// `lambda invoke N [--data JSON] [--async]`: call a function once with a JSON payload.
import type { Command } from 'commander';
import { endpointOf } from '../config.js';
import { usageError } from '../errors.js';
import { functionPath, isRecord, JSON_HEADERS, malformed, readJson, send, type Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';
import { examples, type Verb } from './verb.js';

export const invokeVerb: Verb = {
  name: 'invoke',
  summary: 'call a function with a JSON event and print its result',
  ssh: true,
  register(program, context) {
    program
      .command('invoke')
      .description(this.summary)
      .argument('<name>', 'the function')
      .option('-d, --data <json>', 'the event, as JSON', '{}')
      .option('--async', 'queue the call and print its invocation id instead of waiting for the result (see `lambda invocations N ID`)')
      .addHelpText('after', examples(`lambda invoke greet --data '{"name":"Ann"}'`, 'lambda invoke greet --async'))
      .action(async (name: string, options: { data: string; async?: boolean }, command: Command) => {
        await invoke(context(command), { name, data: options.data, async: options.async === true });
      });
  },
};

export interface InvokeOptions {
  readonly name: string;
  /** The event as JSON text; `{}` when not given. */
  readonly data?: string;
  /** Queue the call instead of waiting: the server answers 202 with an invocation id. */
  readonly async?: boolean;
}

/**
 * Prints the function's result as the server sent it, or with --async the queued call's id (`--json`:
 * `{"invocationId"}`). Checked before any request, with exit status 2: the name (LAMBDA_ERR_INVALID_NAME) and
 * the payload (LAMBDA_ERR_BAD_PAYLOAD).
 */
export async function invoke(ctx: CommandContext, options: InvokeOptions): Promise<void> {
  const name = assertFunctionName(options.name);
  const payload = options.data ?? '{}';
  try {
    JSON.parse(payload);
  } catch (err) {
    // The code the server would answer with, caught before a round trip.
    throw usageError(`the payload is not valid JSON: ${(err as Error).message}`, 'LAMBDA_ERR_BAD_PAYLOAD');
  }
  const endpoint = await endpointOf(ctx.io.env);
  if (options.async) {
    const id = await invokeAsync(endpoint, name, payload);
    ctx.io.stdout.write(ctx.json ? `${JSON.stringify({ invocationId: id, status: 'queued' })}\n` : `Queued ${name} as invocation ${id}\n`);
    return;
  }
  const body = await invokeFunction(endpoint, name, payload);
  ctx.io.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
}

/** POST /api/v1/functions/:name/invoke: the function's answer, as the server sent it. */
async function invokeFunction(endpoint: Endpoint, name: string, payload: string): Promise<string> {
  const res = await send(endpoint, functionPath(name, '/invoke'), { method: 'POST', headers: JSON_HEADERS, body: payload });
  return res.text();
}

/** POST /api/v1/functions/:name/invoke with X-Lambda-Invocation-Type: Event: the queued call's id. */
async function invokeAsync(endpoint: Endpoint, name: string, payload: string): Promise<string> {
  const headers = { ...JSON_HEADERS, 'X-Lambda-Invocation-Type': 'Event' };
  const body = await readJson(await send(endpoint, functionPath(name, '/invoke'), { method: 'POST', headers, body: payload }));
  if (!isRecord(body) || typeof body.invocationId !== 'string') throw malformed('the queued invocation');
  return body.invocationId;
}
