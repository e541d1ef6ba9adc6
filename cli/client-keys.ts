// The REST calls the CLI makes about SSH keys: list, add and remove.
import { isRecord, malformed, readJson, send, type Endpoint } from './http.js';

export interface SshKeySummary {
  readonly id: string;
  readonly name: string;
  readonly algorithm: string;
  readonly fingerprint: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
}

/** GET /api/v1/ssh-keys. */
export async function listSshKeys(endpoint: Endpoint): Promise<SshKeySummary[]> {
  const body = await readJson(await send(endpoint, '/api/v1/ssh-keys', { method: 'GET' }));
  if (!isRecord(body) || !Array.isArray(body.keys)) throw malformed('the SSH key list');
  return body.keys.map(toSummary);
}

/** POST /api/v1/ssh-keys with the .pub file's text. */
export async function addSshKey(endpoint: Endpoint, publicKey: string, name: string | undefined): Promise<SshKeySummary> {
  const res = await send(endpoint, '/api/v1/ssh-keys', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(name === undefined ? { publicKey } : { publicKey, name }),
  });
  return toSummary(await readJson(res));
}

/** DELETE /api/v1/ssh-keys/:id (an id or a SHA256: fingerprint). */
export async function removeSshKey(endpoint: Endpoint, id: string): Promise<void> {
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
