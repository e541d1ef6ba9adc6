// `lambda env N [--reveal]`, `lambda env set N KEY=VALUE ...`, `lambda env unset N KEY ...`: a function's env vars.
import { Agent } from 'undici';
import type { Command } from 'commander';
import { endpointOf } from '../config.js';
import { usageError } from '../errors.js';
import { functionPath, isRecord, JSON_HEADERS, malformed, readJson, send, type Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';
import { escapeControl as clean, renderTable } from '../render.js';
import { examples, type Verb } from './verb.js';

export const envVerb: Verb = {
  name: 'env',
  summary: "show a function's env vars (values set with `env set` are masked unless --reveal); `env set`, `env unset` change them",
  ssh: true,
  register(program, context) {
    const env = program
      .command('env')
      .description(this.summary)
      .argument('<name>', 'the function')
      .option('--reveal', 'show the values')
      .addHelpText('after', examples('lambda env greet --reveal', 'lambda env set greet GREETING=Bonjour', 'lambda env unset greet GREETING'))
      .action(async (name: string, options: { reveal?: boolean }, command: Command) => {
        await envList(context(command), { name, reveal: options.reveal === true });
      });
    env
      .command('set')
      .description('set env vars, stored on the server (never in git); the live version serves with them at once, no rebuild')
      .argument('<name>', 'the function')
      .argument('<pairs...>', 'KEY=VALUE ...')
      .action(async (name: string, pairs: string[], _options: unknown, command: Command) => {
        await envSet(context(command), { name, pairs });
      });
    env
      .command('unset')
      .description('remove env vars; the live version serves without them at once (a name never set changes nothing)')
      .argument('<name>', 'the function')
      .argument('<keys...>', 'KEY ...')
      .action(async (name: string, keys: string[], _options: unknown, command: Command) => {
        await envUnset(context(command), { name, keys });
      });
  },
};

export interface EnvListing {
  readonly vars: Readonly<Record<string, string>>;
  readonly manifest: Readonly<Record<string, string>>;
  readonly revealed: boolean;
}

/** What a change did: the names now set, the version serving them, and the names `unset` found nothing under. */
export interface EnvOutcome {
  readonly keys: string[];
  /** null: no release (no live version yet, or nothing changed). */
  readonly version: number | null;
  readonly changed: boolean;
  readonly notSet: string[];
}

/** The function's env: set with `lambda env set` (masked unless --reveal) and from lambda.yaml. */
export async function envList(ctx: CommandContext, options: { name: string; reveal?: boolean }): Promise<void> {
  const name = assertFunctionName(options.name);
  const env = await fetchEnv(await endpointOf(ctx.io.env), name, options.reveal === true);
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify(env, null, 2)}\n`);
    return;
  }
  const rows = [
    ...Object.entries(env.vars).map(([key, value]) => [key, clean(value), 'lambda env set']),
    ...Object.entries(env.manifest)
      .filter(([key]) => !(key in env.vars))
      .map(([key, value]) => [key, clean(value), 'lambda.yaml']),
  ];
  if (rows.length === 0) ctx.io.stdout.write(`${name} has no env vars. Set one with \`lambda env set ${name} KEY=VALUE\`.\n`);
  else ctx.io.stdout.write(renderTable(['NAME', 'VALUE', 'FROM'], rows));
}

/** `KEY=VALUE ...`: stored server-side and applied as a new release of the live version (no rebuild). */
export async function envSet(ctx: CommandContext, options: { name: string; pairs: string[] }): Promise<void> {
  const name = assertFunctionName(options.name);
  const set: Record<string, string> = {};
  for (const pair of options.pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw usageError(`expected KEY=VALUE, got "${clean(pair).slice(0, 80)}"`);
    set[pair.slice(0, at)] = pair.slice(at + 1);
  }
  if (Object.keys(set).length === 0) throw usageError('give at least one KEY=VALUE');
  const result = await changeEnv(await endpointOf(ctx.io.env), name, { set });
  if (ctx.json) ctx.io.stdout.write(`${JSON.stringify({ name, ...result }, null, 2)}\n`);
  else ctx.io.stdout.write(`Set ${Object.keys(set).join(', ')} on ${name}; ${result.version === null ? 'it applies at the first deploy' : `v${result.version} now serves with it (no rebuild)`}\n`);
}

/**
 * `KEY ...`: removed, and the live version serves without them. Names that were never set are named and change
 * nothing; when none was set there is no release and no restart (exit 0, as there is nothing to fix).
 */
export async function envUnset(ctx: CommandContext, options: { name: string; keys: string[] }): Promise<void> {
  const name = assertFunctionName(options.name);
  if (options.keys.length === 0) throw usageError('give at least one KEY');
  const result = await changeEnv(await endpointOf(ctx.io.env), name, { unset: options.keys });
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify({ name, ...result }, null, 2)}\n`);
    return;
  }
  const notSet = result.notSet.map(clean).join(', ');
  if (!result.changed) {
    ctx.io.stdout.write(`${notSet} ${result.notSet.length === 1 ? 'is' : 'are'} not set on ${name}; nothing changed\n`);
    return;
  }
  const removed = options.keys.filter((key) => !result.notSet.includes(key));
  const also = notSet ? ` (${notSet} ${result.notSet.length === 1 ? 'was' : 'were'} not set)` : '';
  const them = removed.length === 1 ? 'it' : 'them';
  ctx.io.stdout.write(`Unset ${removed.map(clean).join(', ')} on ${name}${also}; ${result.version === null ? 'it applies at the first deploy' : `v${result.version} now serves without ${them} (no rebuild)`}\n`);
}

/** GET /api/v1/functions/:name/env[?reveal=1]. */
async function fetchEnv(endpoint: Endpoint, name: string, reveal: boolean): Promise<EnvListing> {
  const body = await readJson(await send(endpoint, functionPath(name, `/env${reveal ? '?reveal=1' : ''}`), { method: 'GET' }));
  if (!isRecord(body) || !isRecord(body.vars)) throw malformed('the env');
  const strings = (value: unknown) => (isRecord(value) ? Object.fromEntries(Object.entries(value).map(([key, v]) => [key, String(v)])) : {});
  return { vars: strings(body.vars), manifest: strings(body.manifest), revealed: body.revealed === true };
}

/** POST /api/v1/functions/:name/env with `{ set, unset }`: one release of the live version, when anything changes. */
async function changeEnv(endpoint: Endpoint, name: string, change: { set?: Record<string, string>; unset?: string[] }): Promise<EnvOutcome> {
  // The new instance must answer its health check before the server replies.
  const dispatcher = new Agent({ headersTimeout: 120_000, bodyTimeout: 120_000 });
  try {
    const body = await readJson(await send(endpoint, functionPath(name, '/env'), { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(change) }, dispatcher));
    if (!isRecord(body)) throw malformed('the env result');
    const release = isRecord(body.release) ? body.release : undefined;
    return {
      keys: Array.isArray(body.keys) ? body.keys.map(String) : [],
      version: release && typeof release.toVersion === 'number' ? release.toVersion : null,
      changed: body.changed !== false,
      notSet: Array.isArray(body.notSet) ? body.notSet.map(String) : [],
    };
  } finally {
    await dispatcher.destroy();
  }
}
