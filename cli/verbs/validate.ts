// `lambda validate [dir]`: the server's own manifest check (server/functions/manifest.ts, the same code) run locally.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
// The one exception to "the CLI talks REST only": the manifest check is the server's, so errors name the same key and line.
import { MANIFEST_FILE, manifestProblemLine, parseManifest, type Manifest } from '../../server/functions/manifest.js';
import type { Command } from 'commander';
import { CliError, EXIT } from '../errors.js';
import type { CommandContext } from '../io.js';
import { examples, type Verb } from './verb.js';

export const validateVerb: Verb = {
  name: 'validate',
  summary: "check a directory's lambda.yaml with the server's own rules (key and line in each error)",
  ssh: false,
  notOverSsh: 'it reads a directory where it runs, which over SSH is the server',
  register(program, context) {
    program
      .command('validate')
      .description(this.summary)
      .argument('[dir]', 'the function directory', '.')
      .addHelpText('after', examples('lambda validate ./greet'))
      .action(async (dir: string, _options: unknown, command: Command) => {
        await validate(context(command), { dir });
      });
  },
};

/** Reads `dir`/lambda.yaml and checks it. Prints each problem with its key and line and exits 2 when it is invalid. */
export async function validate(ctx: CommandContext, options: { dir?: string }): Promise<Manifest> {
  const file = join(resolve(options.dir ?? '.'), MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new CliError(`${file} is missing or unreadable`, { code: 'LAMBDA_ERR_MANIFEST_MISSING', exitStatus: EXIT.usage });
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(text);
  } catch (error) {
    const { code, message, details } = error as { code?: string; message: string; details?: { problems?: string[] } };
    const problems = details?.problems?.map(manifestProblemLine) ?? [message];
    if (ctx.json) throw new CliError(message, { code, exitStatus: EXIT.usage });
    throw new CliError(`${file} is invalid:\n${problems.join('\n')}`, { code, exitStatus: EXIT.usage });
  }
  if (ctx.json) ctx.io.stdout.write(`${JSON.stringify({ file, valid: true, manifest }, null, 2)}\n`);
  else ctx.io.stdout.write(`${file} is valid (runtime ${manifest.runtime}${manifest.handler ? `, handler ${manifest.handler}` : ''})\n`);
  return manifest;
}

/** The `name:` of `dir`/lambda.yaml when it has a valid one, for `lambda deploy` without --name. */
export async function manifestName(dir: string): Promise<string | undefined> {
  try {
    const manifest = parseManifest(await readFile(join(dir, MANIFEST_FILE), 'utf8'));
    return manifest.name;
  } catch {
    // A missing or invalid manifest: the directory's name is used, and the server reports the manifest's problems.
    return undefined;
  }
}
