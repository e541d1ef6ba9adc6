// `lambda keys add FILE.pub [--name N]|list|remove ID`: the SSH public keys that may log in as `lambda`.
import { readFile } from 'node:fs/promises';
import { addSshKey, listSshKeys, removeSshKey } from '../client-keys.js';
import { loadConfig, requireApiKey } from '../config.js';
import { usageError } from '../errors.js';
import type { Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { renderTable } from '../render.js';

/** Prints every key: id, name, type, fingerprint, added, last used. */
export async function keysList(ctx: CommandContext): Promise<void> {
  const keys = await listSshKeys(await endpointOf(ctx));
  const rows = keys.map((key) => [key.id, key.name || '-', key.algorithm, key.fingerprint, key.createdAt, key.lastUsedAt ?? '-']);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(keys, null, 2)}\n` : renderTable(['ID', 'NAME', 'TYPE', 'FINGERPRINT', 'ADDED', 'LAST USED'], rows));
}

/**
 * Adds the public key in `file`. An unreadable file: exit 2; not a public key: LAMBDA_ERR_SSH_KEY_INVALID (exit 2);
 * already added: LAMBDA_ERR_SSH_KEY_EXISTS (exit 1).
 */
export async function keysAdd(ctx: CommandContext, options: { file: string; name?: string }): Promise<void> {
  let text: string;
  try {
    // A public key is one short line; a big file is not one (and is not sent).
    text = (await readFile(options.file)).subarray(0, 64 * 1024).toString('utf8');
  } catch (err) {
    throw usageError(`cannot read ${options.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const key = await addSshKey(await endpointOf(ctx), text, options.name);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(key, null, 2)}\n` : `Added SSH key ${key.id} ${key.fingerprint}${key.name ? ` (${key.name})` : ''}\n`);
}

/** Removes a key by id or fingerprint. Unknown: LAMBDA_ERR_SSH_KEY_NOT_FOUND (exit 4). */
export async function keysRemove(ctx: CommandContext, options: { id: string }): Promise<void> {
  await removeSshKey(await endpointOf(ctx), options.id);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify({ id: options.id, removed: true }, null, 2)}\n` : `Removed SSH key ${options.id}\n`);
}

async function endpointOf(ctx: CommandContext): Promise<Endpoint> {
  const config = await loadConfig(ctx.io.env);
  return { url: config.url, apiKey: requireApiKey(config) };
}
