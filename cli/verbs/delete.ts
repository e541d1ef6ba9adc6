// `lambda delete N [--yes]`: a function and everything kept for it, after the name is typed back.
import type { Command } from 'commander';
import { endpointOf } from '../config.js';
import { CliError, EXIT } from '../errors.js';
import { functionPath, isRecord, malformed, readJson, send, type Endpoint } from '../http.js';
import { readLine, type CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';
import { escapeControl as clean } from '../render.js';
import { examples, plural, type Verb } from './verb.js';

export const deleteVerb: Verb = {
  name: 'delete',
  summary: 'delete a function: its instances, versions, images, env, logs and repository',
  ssh: false,
  notOverSsh: 'a deletion cannot be undone, and an SSH command has no input to type the name back with',
  register(program, context) {
    program
      .command('delete')
      .description(this.summary)
      .argument('<name>', 'the function')
      .option('-y, --yes', 'do not ask for the name to be typed')
      .addHelpText('after', examples('lambda delete greet', 'lambda delete greet --yes'))
      .action(async (name: string, options: { yes?: boolean }, command: Command) => {
        await deleteFunction(context(command), { name, yes: options.yes === true });
      });
  },
};

/**
 * Deletes the function and everything kept for it. Without --yes the name must be typed; anything else (or no input)
 * deletes nothing and exits 2.
 */
export async function deleteFunction(ctx: CommandContext, options: { name: string; yes?: boolean }): Promise<void> {
  const name = assertFunctionName(options.name);
  const endpoint = await endpointOf(ctx.io.env);
  if (!options.yes) {
    ctx.io.stderr.write(` !     This deletes ${name}: its instances, versions, images, env, logs and repository.\n       Type its name to confirm: `);
    const typed = (await readLine(ctx.io.stdin)).trim();
    if (typed !== name) throw new CliError(`not deleted: "${clean(typed).slice(0, 80)}" is not "${name}" (give --yes to skip this question)`, { exitStatus: EXIT.usage });
  }
  const result = await requestDelete(endpoint, name);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify({ name, deleted: true, ...result }, null, 2)}\n` : `Deleted ${name} (${plural(result.versions, 'version')}, ${plural(result.images, 'image')})\n`);
}

/** DELETE /api/v1/functions/:name. */
async function requestDelete(endpoint: Endpoint, name: string): Promise<{ versions: number; images: number }> {
  const body = await readJson(await send(endpoint, functionPath(name, ''), { method: 'DELETE' }));
  if (!isRecord(body)) throw malformed('the delete result');
  return { versions: Number(body.versions ?? 0), images: Number(body.images ?? 0) };
}
