// The REST calls behind `lambda versions`, `rollback`, `releases`, `delete` and `env`.
import { Agent } from 'undici';
import { isRecord, malformed, readJson, send, type Endpoint } from './http.js';

export interface VersionEntry {
  readonly version: number;
  readonly sha: string;
  readonly message: string;
  readonly author: string;
  readonly createdAt: string;
  readonly live: boolean;
  readonly imageKept: boolean;
}

export interface ReleaseEntry {
  readonly id: number;
  readonly kind: string;
  readonly fromVersion: number | null;
  readonly toVersion: number;
  readonly who: string;
  readonly detail: string;
  readonly createdAt: string;
}

export interface RollbackOutcome {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  readonly sha: string;
  readonly rebuilt: boolean;
  readonly url: string;
  readonly progress: readonly { readonly type: string; readonly text: string }[];
}

export interface EnvListing {
  readonly vars: Readonly<Record<string, string>>;
  readonly manifest: Readonly<Record<string, string>>;
  readonly revealed: boolean;
}

const path = (name: string, rest = '') => `/api/v1/functions/${encodeURIComponent(name)}${rest}`;
const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** GET /api/v1/functions/:name/versions, newest first. */
export async function fetchVersions(endpoint: Endpoint, name: string): Promise<VersionEntry[]> {
  const body = await readJson(await send(endpoint, path(name, '/versions'), { method: 'GET' }));
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

/** GET /api/v1/functions/:name/releases, newest first. */
export async function fetchReleases(endpoint: Endpoint, name: string): Promise<ReleaseEntry[]> {
  const body = await readJson(await send(endpoint, path(name, '/releases'), { method: 'GET' }));
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

/** POST /api/v1/functions/:name/rollback; a rebuild of a pruned version may take minutes, so no timeout. */
export async function requestRollback(endpoint: Endpoint, name: string, to: string | undefined): Promise<RollbackOutcome> {
  const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  try {
    const res = await send(endpoint, path(name, '/rollback'), { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(to === undefined ? {} : { to }) }, dispatcher);
    const body = await readJson(res);
    if (!isRecord(body) || typeof body.to !== 'number') throw malformed('the rollback result');
    const progress = Array.isArray(body.progress) ? body.progress.filter(isRecord).map((event) => ({ type: String(event.type ?? ''), text: String(event.text ?? '') })) : [];
    return { name: String(body.name ?? name), from: Number(body.from), to: body.to, sha: String(body.sha ?? ''), rebuilt: body.rebuilt === true, url: String(body.url ?? ''), progress };
  } finally {
    await dispatcher.destroy();
  }
}

/** DELETE /api/v1/functions/:name. */
export async function requestDelete(endpoint: Endpoint, name: string): Promise<{ versions: number; images: number }> {
  const body = await readJson(await send(endpoint, path(name), { method: 'DELETE' }));
  if (!isRecord(body)) throw malformed('the delete result');
  return { versions: Number(body.versions ?? 0), images: Number(body.images ?? 0) };
}

/** GET /api/v1/functions/:name/env[?reveal=1]. */
export async function fetchEnv(endpoint: Endpoint, name: string, reveal: boolean): Promise<EnvListing> {
  const body = await readJson(await send(endpoint, path(name, `/env${reveal ? '?reveal=1' : ''}`), { method: 'GET' }));
  if (!isRecord(body) || !isRecord(body.vars)) throw malformed('the env');
  const strings = (value: unknown) => (isRecord(value) ? Object.fromEntries(Object.entries(value).map(([key, v]) => [key, String(v)])) : {});
  return { vars: strings(body.vars), manifest: strings(body.manifest), revealed: body.revealed === true };
}

/** POST /api/v1/functions/:name/env with `{ set, unset }`: one release of the live version. */
export async function changeEnv(endpoint: Endpoint, name: string, change: { set?: Record<string, string>; unset?: string[] }): Promise<{ keys: string[]; version: number | null }> {
  const dispatcher = new Agent({ headersTimeout: 120_000, bodyTimeout: 120_000 });
  try {
    const body = await readJson(await send(endpoint, path(name, '/env'), { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(change) }, dispatcher));
    if (!isRecord(body)) throw malformed('the env result');
    const release = isRecord(body.release) ? body.release : undefined;
    return { keys: Array.isArray(body.keys) ? body.keys.map(String) : [], version: release && typeof release.toVersion === 'number' ? release.toVersion : null };
  } finally {
    await dispatcher.destroy();
  }
}
