// `lambda versions N`, `rollback N [vK|sha]`, `releases N`, `delete N [--yes]` and `env N|set|unset`.
import { changeEnv, fetchEnv, fetchReleases, fetchVersions, requestDelete, requestRollback } from '../client-lifecycle.js';
import { loadConfig, requireApiKey } from '../config.js';
import { CliError, EXIT, usageError } from '../errors.js';
import type { Endpoint } from '../http.js';
import { readLine, type CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';
import { renderTable, renderWarning } from '../render.js';

/** Number, short SHA, commit message, author, created, `*` on the live one, and whether its image is kept. */
export async function versions(ctx: CommandContext, options: { name: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  const list = await fetchVersions(await endpointOf(ctx), name);
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

/** Who changed what serves the function, newest first. */
export async function releases(ctx: CommandContext, options: { name: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  const list = await fetchReleases(await endpointOf(ctx), name);
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

/** Makes an earlier version live; says so when its pruned image had to be rebuilt. */
export async function rollback(ctx: CommandContext, options: { name: string; version?: string }): Promise<void> {
  const name = assertFunctionName(options.name);
  const result = await requestRollback(await endpointOf(ctx), name, options.version);
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

/**
 * Deletes the function and everything kept for it. Without --yes the name must be typed; anything else (or no input)
 * deletes nothing and exits 2.
 */
export async function deleteCommand(ctx: CommandContext, options: { name: string; yes?: boolean }): Promise<void> {
  const name = assertFunctionName(options.name);
  const endpoint = await endpointOf(ctx);
  if (!options.yes) {
    ctx.io.stderr.write(` !     This deletes ${name}: its instances, versions, images, env, logs and repository.\n       Type its name to confirm: `);
    const typed = (await readLine(ctx.io.stdin)).trim();
    if (typed !== name) throw new CliError(`not deleted: "${clean(typed).slice(0, 80)}" is not "${name}" (give --yes to skip this question)`, { exitStatus: EXIT.usage });
  }
  const result = await requestDelete(endpoint, name);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify({ name, deleted: true, ...result }, null, 2)}\n` : `Deleted ${name} (${result.versions} versions, ${result.images} images)\n`);
}

/** The function's env: set with `lambda env set` (masked unless --reveal) and from lambda.yaml. */
export async function envList(ctx: CommandContext, options: { name: string; reveal?: boolean }): Promise<void> {
  const name = assertFunctionName(options.name);
  const env = await fetchEnv(await endpointOf(ctx), name, options.reveal === true);
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
  const result = await changeEnv(await endpointOf(ctx), name, { set });
  report(ctx, name, `Set ${Object.keys(set).join(', ')}`, result);
}

/** `KEY ...`: removed, and the live version serves without them. */
export async function envUnset(ctx: CommandContext, options: { name: string; keys: string[] }): Promise<void> {
  const name = assertFunctionName(options.name);
  if (options.keys.length === 0) throw usageError('give at least one KEY');
  const result = await changeEnv(await endpointOf(ctx), name, { unset: options.keys });
  report(ctx, name, `Unset ${options.keys.join(', ')}`, result);
}

function report(ctx: CommandContext, name: string, what: string, result: { keys: string[]; version: number | null }): void {
  if (ctx.json) ctx.io.stdout.write(`${JSON.stringify({ name, ...result }, null, 2)}\n`);
  else ctx.io.stdout.write(`${what} on ${name}; ${result.version === null ? 'it applies at the first deploy' : `v${result.version} now serves with it (no rebuild)`}\n`);
}

async function endpointOf(ctx: CommandContext): Promise<Endpoint> {
  const config = await loadConfig(ctx.io.env);
  return { url: config.url, apiKey: requireApiKey(config) };
}

/** Text from commits and people (messages, names, values) cannot move the terminal's cursor. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
