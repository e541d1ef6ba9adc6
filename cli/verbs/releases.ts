// `lambda releases N`: who deployed, rolled back or changed the env of a function, and when.
import type { Command } from 'commander';
import { endpointOf } from '../config.js';
import { functionPath, isRecord, malformed, readJson, send, type Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';
import { escapeControl as clean, renderTable } from '../render.js';
import { examples, type Verb } from './verb.js';

export const releasesVerb: Verb = {
  name: 'releases',
  summary: 'list who deployed, rolled back or changed the env of a function, and when',
  ssh: true,
  register(program, context) {
    program
      .command('releases')
      .description(this.summary)
      .argument('<name>', 'the function')
      .addHelpText('after', examples('lambda releases greet'))
      .action(async (name: string, _options: unknown, command: Command) => {
        await releases(context(command), { name });
      });
  },
};

export interface ReleaseEntry {
  readonly id: number;
  readonly kind: string;
  readonly fromVersion: number | null;
  readonly toVersion: number;
  readonly who: string;
  readonly detail: string;
  readonly createdAt: string;
}

/** Who changed what serves the function, newest first. */
export async function releases(ctx: CommandContext, options: { name: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  const list = await fetchReleases(await endpointOf(ctx.io.env), name);
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return;
  }
  const rows = list.map((r) => [
    String(r.id),
    r.createdAt,
    r.kind,
    r.kind === 'env' ? `v${r.toVersion}` : `${r.fromVersion === null ? '-' : `v${r.fromVersion}`} -> v${r.toVersion}`,
    clean(r.who),
    clean(r.detail),
  ]);
  ctx.io.stdout.write(renderTable(['RELEASE', 'WHEN', 'KIND', 'VERSIONS', 'WHO', 'DETAIL'], rows));
}

/** GET /api/v1/functions/:name/releases, newest first. */
async function fetchReleases(endpoint: Endpoint, name: string): Promise<ReleaseEntry[]> {
  const body = await readJson(await send(endpoint, functionPath(name, '/releases'), { method: 'GET' }));
  if (!isRecord(body) || !Array.isArray(body.releases)) throw malformed('the release list');
  return body.releases.map((value: unknown) => {
    if (!isRecord(value)) throw malformed('a release');
    return {
      id: Number(value.id),
      kind: String(value.kind ?? ''),
      fromVersion: typeof value.fromVersion === 'number' ? value.fromVersion : null,
      toVersion: Number(value.toVersion),
      who: String(value.who ?? ''),
      detail: String(value.detail ?? ''),
      createdAt: String(value.createdAt ?? ''),
    };
  });
}
