// `lambda invoke N [--data JSON] [--async]`: call a function once with a JSON payload.
import { invokeFunction } from '../client.js';
import { invokeAsync } from '../client-jobs.js';
import { loadConfig, requireApiKey } from '../config.js';
import { usageError } from '../errors.js';
import type { CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';

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
  const config = await loadConfig(ctx.io.env);
  if (options.async) {
    const id = await invokeAsync({ url: config.url, apiKey: requireApiKey(config) }, name, payload);
    ctx.io.stdout.write(ctx.json ? `${JSON.stringify({ invocationId: id, status: 'queued' })}\n` : `Queued ${name} as invocation ${id}\n`);
    return;
  }
  const body = await invokeFunction({ url: config.url, apiKey: requireApiKey(config) }, name, payload);
  ctx.io.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
}
