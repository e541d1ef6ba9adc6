// `lambda rollback N [vK|sha]`: make an earlier version live again without a rebuild.
import { Agent } from 'undici';
import type { Command } from 'commander';
import { endpointOf } from '../config.js';
import { functionPath, isRecord, JSON_HEADERS, malformed, readJson, send, type Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';
import { escapeControl as clean, renderWarning } from '../render.js';
import { examples, type Verb } from './verb.js';

export const rollbackVerb: Verb = {
  name: 'rollback',
  summary: 'make an earlier version live again without a rebuild (a pruned one is rebuilt from its commit)',
  ssh: true,
  register(program, context) {
    program
      .command('rollback')
      .description(this.summary)
      .argument('<name>', 'the function')
      .argument('[version]', 'v3 or a commit SHA prefix (default: the version before the live one)')
      .addHelpText('after', examples('lambda rollback greet', 'lambda rollback greet v3'))
      .action(async (name: string, version: string | undefined, _options: unknown, command: Command) => {
        await rollback(context(command), { name, version });
      });
  },
};

export interface RollbackOutcome {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  readonly sha: string;
  readonly rebuilt: boolean;
  readonly url: string;
  readonly progress: readonly { readonly type: string; readonly text: string }[];
}

/** Makes an earlier version live; says so when its pruned image had to be rebuilt. */
export async function rollback(ctx: CommandContext, options: { name: string; version?: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  const result = await requestRollback(await endpointOf(ctx.io.env), name, options.version);
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  for (const event of result.progress) {
    if (event.type === 'warn') ctx.io.stderr.write(renderWarning(clean(event.text)));
    else if (event.type === 'step') ctx.io.stdout.write(`-----> ${clean(event.text)}\n`);
  }
  if (result.rebuilt) ctx.io.stdout.write(`       v${result.to} was rebuilt from its commit (its image had been pruned)\n`);
}

/** POST /api/v1/functions/:name/rollback; a rebuild of a pruned version may take minutes, so no timeout. */
async function requestRollback(endpoint: Endpoint, name: string, to: string | undefined): Promise<RollbackOutcome> {
  const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  try {
    const res = await send(endpoint, functionPath(name, '/rollback'), { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(to === undefined ? {} : { to }) }, dispatcher);
    const body = await readJson(res);
    if (!isRecord(body) || typeof body.to !== 'number') throw malformed('the rollback result');
    const progress = Array.isArray(body.progress) ? body.progress.filter(isRecord).map((event) => ({ type: String(event.type ?? ''), text: String(event.text ?? '') })) : [];
    return { name: String(body.name ?? name), from: Number(body.from), to: body.to, sha: String(body.sha ?? ''), rebuilt: body.rebuilt === true, url: String(body.url ?? ''), progress };
  } finally {
    await dispatcher.destroy();
  }
}
