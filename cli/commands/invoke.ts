// `lambda invoke N [--data JSON] [--async]`: call a function once with a JSON payload.
import { invokeFunction } from '../client.js';
import { loadConfig, requireApiKey } from '../config.js';
import { usageError } from '../errors.js';
import type { CommandContext } from '../io.js';
import { renderQueued } from '../render.js';

export interface InvokeOptions {
  readonly name: string;
  /** The event as JSON text; `{}` when not given. */
  readonly data?: string;
  /** Queue the call (202 with an invocation id) instead of waiting for its result. */
  readonly async?: boolean;
}

/** Prints the function's result as the server sent it, or the id of the queued invocation. */
export async function invoke(ctx: CommandContext, options: InvokeOptions): Promise<void> {
  const payload = options.data ?? '{}';
  try {
    JSON.parse(payload);
  } catch (err) {
    // The code the server would answer with, caught before a round trip.
    throw usageError(`the payload is not valid JSON: ${(err as Error).message}`, 'LAMBDA_ERR_BAD_PAYLOAD');
  }
  const config = await loadConfig(ctx.io.env);
  const endpoint = { url: config.url, apiKey: requireApiKey(config) };
  const outcome = await invokeFunction(endpoint, options.name, payload, { async: options.async ?? false });
  if (outcome.kind === 'queued' && !ctx.json) {
    ctx.io.stdout.write(renderQueued(outcome.invocationId));
    return;
  }
  ctx.io.stdout.write(outcome.body.endsWith('\n') ? outcome.body : `${outcome.body}\n`);
}
