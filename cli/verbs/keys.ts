// `lambda keys add FILE.pub [--name N]|list|remove ID`: the SSH keys that may log in as `lambda`.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { endpointOf } from '../config.js';
import { usageError } from '../errors.js';
import { isRecord, malformed, readJson, send, type Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { renderTable } from '../render.js';
import { examples, type Verb } from './verb.js';

export const keysVerb: Verb = {
  name: 'keys',
  summary: 'add, list and remove the SSH keys that may log in as `lambda`',
  ssh: false,
  notOverSsh: 'it manages credentials (an SSH key may not add others), and `keys add` reads a file where it runs',
  register(program, context) {
    const keys = program
      .command('keys')
      .description(this.summary)
      .addHelpText('after', examples('lambda keys add ~/.ssh/id_ed25519.pub --name laptop', 'lambda keys remove SHA256:...'));
    keys
      .command('add')
      .description('allow an SSH public key (e.g. ~/.ssh/id_ed25519.pub) to run commands and git push over SSH')
      .argument('<file>', 'the public key file (.pub)')
      .option('-n, --name <name>', "what the key is for (default: the key's comment)")
      .action(async (file: string, options: { name?: string }, command: Command) => {
        await keysAdd(context(command), { file, name: options.name });
      });
    keys
      .command('list')
      .description('list SSH keys: id, name, type, fingerprint, added, last used')
      .action(async (_options: unknown, command: Command) => {
        await keysList(context(command));
      });
    keys
      .command('remove')
      .description('remove an SSH key: it stops logging in at once')
      .argument('<id>', 'the key id or its SHA256: fingerprint, as `lambda keys list` shows them')
      .action(async (id: string, _options: unknown, command: Command) => {
        await keysRemove(context(command), { id });
      });
  },
};

export interface SshKeySummary {
  readonly id: string;
  readonly name: string;
  readonly algorithm: string;
  readonly fingerprint: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
}

/** Prints every key: id, name, type, fingerprint, added, last used. */
export async function keysList(ctx: CommandContext): Promise<void> {
  const keys = await listSshKeys(await endpointOf(ctx.io.env));
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
  const key = await addSshKey(await endpointOf(ctx.io.env), text, options.name);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(key, null, 2)}\n` : `Added SSH key ${key.id} ${key.fingerprint}${key.name ? ` (${key.name})` : ''}\n`);
}

/** Removes a key by id or fingerprint. Unknown: LAMBDA_ERR_SSH_KEY_NOT_FOUND (exit 4). */
export async function keysRemove(ctx: CommandContext, options: { id: string }): Promise<void> {
  await removeSshKey(await endpointOf(ctx.io.env), options.id);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify({ id: options.id, removed: true }, null, 2)}\n` : `Removed SSH key ${options.id}\n`);
}

/** GET /api/v1/ssh-keys. */
async function listSshKeys(endpoint: Endpoint): Promise<SshKeySummary[]> {
  const body = await readJson(await send(endpoint, '/api/v1/ssh-keys', { method: 'GET' }));
  if (!isRecord(body) || !Array.isArray(body.keys)) throw malformed('the SSH key list');
  return body.keys.map(toSummary);
}

/** POST /api/v1/ssh-keys with the .pub file's text. */
async function addSshKey(endpoint: Endpoint, publicKey: string, name: string | undefined): Promise<SshKeySummary> {
  const res = await send(endpoint, '/api/v1/ssh-keys', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(name === undefined ? { publicKey } : { publicKey, name }),
  });
  return toSummary(await readJson(res));
}

/** DELETE /api/v1/ssh-keys/:id (an id or a SHA256: fingerprint). */
async function removeSshKey(endpoint: Endpoint, id: string): Promise<void> {
  const res = await send(endpoint, `/api/v1/ssh-keys/${encodeURIComponent(id)}`, { method: 'DELETE' });
  await res.body?.cancel();
}

function toSummary(value: unknown): SshKeySummary {
  if (!isRecord(value) || typeof value.id !== 'string') throw malformed('an SSH key');
  return {
    id: value.id,
    name: typeof value.name === 'string' ? value.name : '',
    algorithm: String(value.algorithm ?? ''),
    fingerprint: String(value.fingerprint ?? ''),
    createdAt: String(value.createdAt ?? ''),
    lastUsedAt: typeof value.lastUsedAt === 'string' ? value.lastUsedAt : null,
  };
}
