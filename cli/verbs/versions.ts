// `lambda versions N`: a function's versions, newest first, with the live one marked.
import type { Command } from 'commander';
import { endpointOf } from '../config.js';
import { functionPath, isRecord, malformed, readJson, send, type Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';
import { escapeControl as clean, renderTable } from '../render.js';
import { examples, type Verb } from './verb.js';

export const versionsVerb: Verb = {
  name: 'versions',
  summary: "list a function's versions: number, SHA, created, whether the image is kept, author, message; * marks the live one",
  ssh: true,
  register(program, context) {
    program
      .command('versions')
      .description(this.summary)
      .argument('<name>', 'the function')
      .addHelpText('after', examples('lambda versions greet'))
      .action(async (name: string, _options: unknown, command: Command) => {
        await versions(context(command), { name });
      });
  },
};

export interface VersionEntry {
  readonly version: number;
  readonly sha: string;
  readonly message: string;
  readonly author: string;
  readonly createdAt: string;
  readonly live: boolean;
  readonly imageKept: boolean;
}

/** Number, short SHA, commit message, author, created, `*` on the live one, and whether its image is kept. */
export async function versions(ctx: CommandContext, options: { name: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  const list = await fetchVersions(await endpointOf(ctx.io.env), name);
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return;
  }
  if (list.length === 0) {
    ctx.io.stdout.write(`${name} has no versions yet.\n`);
    return;
  }
  const rows = list.map((v) => [
    `${v.live ? '*' : ' '} v${v.version}`,
    v.sha.slice(0, 12),
    v.createdAt,
    v.imageKept ? 'kept' : 'pruned',
    clean(v.author) || '-',
    clean(v.message) || '-',
  ]);
  ctx.io.stdout.write(renderTable(['  VERSION', 'SHA', 'CREATED', 'IMAGE', 'AUTHOR', 'MESSAGE'], rows));
}

/** GET /api/v1/functions/:name/versions, newest first. */
async function fetchVersions(endpoint: Endpoint, name: string): Promise<VersionEntry[]> {
  const body = await readJson(await send(endpoint, functionPath(name, '/versions'), { method: 'GET' }));
  if (!isRecord(body) || !Array.isArray(body.versions)) throw malformed('the version list');
  return body.versions.map((value: unknown) => {
    if (!isRecord(value)) throw malformed('a version');
    return {
      version: Number(value.version),
      sha: String(value.sha ?? ''),
      message: String(value.message ?? ''),
      author: String(value.author ?? ''),
      createdAt: String(value.createdAt ?? ''),
      live: value.live === true,
      imageKept: value.imageKept === true,
    };
  });
}
