// `lambda list`: every function with its live version.
import { listFunctions } from '../client.js';
import { loadConfig, requireApiKey } from '../config.js';
import type { CommandContext } from '../io.js';
import { renderFunctionsTable } from '../render.js';

/** Prints the functions as a table, or as a JSON array with --json. */
export async function list(ctx: CommandContext): Promise<void> {
  const config = await loadConfig(ctx.io.env);
  const functions = await listFunctions({ url: config.url, apiKey: requireApiKey(config) });
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(functions, null, 2)}\n` : renderFunctionsTable(functions));
}
