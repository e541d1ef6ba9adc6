// `lambda invoke N [--data JSON] [--async]`: call a function once with a JSON payload.
import { invokeFunction } from '../client.js';
import { loadConfig, requireApiKey } from '../config.js';
import { usageError } from '../errors.js';
import type { CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';

export interface InvokeOptions {
  readonly name: string;
  /** The event as JSON text; `{}` when not given. */
  readonly data?: string;
  /** Queue the call instead of waiting: refused until the server has an invocation queue. */
  readonly async?: boolean;
}

/**
 * Prints the function's result as the server sent it. Checked before any request, with exit
 * status 2: the name (LAMBDA_ERR_INVALID_NAME), the payload (LAMBDA_ERR_BAD_PAYLOAD) and --async.
 */
export async function invoke(ctx: CommandContext, options: InvokeOptions): Promise<void> {
  const name = assertFunctionName(options.name);
  if (options.async) {
    // The server would run the call synchronously and answer 200: refusing is the truthful answer (issue 6).
    throw usageError('--async needs the invocation queue, which this server does not have yet; run without --async');
  }
  const payload = options.data ?? '{}';
  try {
    JSON.parse(payload);
  } catch (err) {
    // The code the server would answer with, caught before a round trip.
    throw usageError(`the payload is not valid JSON: ${(err as Error).message}`, 'LAMBDA_ERR_BAD_PAYLOAD');
  }
  const config = await loadConfig(ctx.io.env);
  const body = await invokeFunction({ url: config.url, apiKey: requireApiKey(config) }, name, payload);
  ctx.io.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
}
