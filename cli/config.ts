// Where the CLI finds its server and API token: the saved login, overridden by LAMBDA_URL and LAMBDA_API_KEY.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, EXIT, usageError } from './errors.js';
import type { Endpoint } from './http.js';
import type { Env } from './io.js';

export const DEFAULT_URL = 'http://localhost:8080';

/** What `lambda login` saves: the file's field stays `apiKey`, so logins saved by earlier versions still work. */
export interface SavedConfig {
  readonly url?: string;
  readonly apiKey?: string;
}

/** The server to talk to, and the API token if one is known. */
export interface ResolvedConfig {
  readonly url: string;
  readonly token: string | undefined;
}

/** `$LAMBDA_CONFIG`, else `$XDG_CONFIG_HOME/lambda/config.json`, else `~/.config/lambda/config.json`. */
export function configPath(env: Env): string {
  if (env.LAMBDA_CONFIG) return env.LAMBDA_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'lambda', 'config.json');
}

/** Environment variables win over the saved file; an empty variable counts as unset. */
export function resolveConfig(env: Env, saved: SavedConfig): ResolvedConfig {
  const url = env.LAMBDA_URL || saved.url || DEFAULT_URL;
  return { url: normalizeUrl(url), token: env.LAMBDA_API_KEY || saved.apiKey || undefined };
}

/** Reads the saved config; a missing file is an empty config, a broken one an error naming the file. */
export async function readConfig(path: string): Promise<SavedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(`cannot read the config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CliError(`the config file ${path} is not valid JSON (${(err as Error).message}); run \`lambda login URL\` again`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`the config file ${path} must hold a JSON object; run \`lambda login URL\` again`);
  }
  const record = parsed as Record<string, unknown>;
  return {
    url: typeof record.url === 'string' ? record.url : undefined,
    apiKey: typeof record.apiKey === 'string' ? record.apiKey : undefined,
  };
}

/** Saves the config readable by its owner only (file 0600, a directory it creates 0700). */
export async function writeConfig(path: string, config: Required<SavedConfig>): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Written to a private temp file and renamed, so the token is never readable by others, even briefly.
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify({ url: config.url, apiKey: config.apiKey }, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
}

/** The saved config with the environment applied. */
export async function loadConfig(env: Env): Promise<ResolvedConfig> {
  return resolveConfig(env, await readConfig(configPath(env)));
}

/** Where a verb sends its requests: the configured server and API token, or an error saying how to log in. */
export async function endpointOf(env: Env): Promise<Endpoint> {
  const path = configPath(env);
  const saved = await readConfig(path);
  const config = resolveConfig(env, saved);
  return { url: config.url, token: requireToken(config), refused: refusedKeyHint(env, saved, path, config.url) };
}

/** Where an API token's key comes from, for every message about a refused one. */
export const KEY_SOURCES = "the admin key is printed once by the server's first start (`Admin API key`), else it is the server's LAMBDA_API_KEY";

/**
 * What to add when the server refuses the token: a forgotten LAMBDA_API_KEY silently wins over the saved login, so
 * the message names the key that was actually sent.
 */
function refusedKeyHint(env: Env, saved: SavedConfig, path: string, url: string): string {
  if (env.LAMBDA_API_KEY) {
    if (saved.apiKey && saved.apiKey !== env.LAMBDA_API_KEY) {
      return `LAMBDA_API_KEY in this environment overrode the saved login (${path}); unset it to use the saved key`;
    }
    return `the key came from LAMBDA_API_KEY in this environment; ${KEY_SOURCES}`;
  }
  return `the saved login's key (${path}) was refused; run \`lambda login ${url}\` again; ${KEY_SOURCES}`;
}

/** The API token, or an error telling the user how to provide one. */
export function requireToken(config: ResolvedConfig): string {
  if (config.token) return config.token;
  throw new CliError(`no API token for ${config.url}: run \`lambda login ${config.url}\` or set LAMBDA_API_KEY`, {
    code: 'LAMBDA_ERR_UNAUTHORIZED',
    exitStatus: EXIT.auth,
  });
}

/** Checks that `text` is an http(s) URL and drops trailing slashes, so paths can be appended. */
export function normalizeUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(`"${text}" is not a URL; use one like ${DEFAULT_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`"${text}" is not an http or https URL`);
  }
  return text.trim().replace(/\/+$/, '');
}
