// Configuration: config/default.yaml, overridden by LAMBDA_* environment variables.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export interface Config {
  port: number;
  host: string;
  sshPort: number;
  domain: string;
  dataDir: string;
  baseImages: Record<string, string>;
  /** Seeds the admin key instead of generating one. */
  apiKey?: string;
  /** Where the project's own files are (buildpacks/, hooks/). */
  projectRoot: string;
}

/** The folder holding package.json, whether this runs from server/ (tsx) or dist/server/ (built). */
export const PROJECT_ROOT = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));

function findProjectRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json')) && dir !== path.dirname(dir)) dir = path.dirname(dir);
  return dir;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, file = path.join(PROJECT_ROOT, 'config', 'default.yaml')): Config {
  const defaults = (parse(fs.readFileSync(file, 'utf8')) ?? {}) as Partial<Config>;
  const baseImages: Record<string, string> = { ...(defaults.baseImages ?? {}) };
  for (const runtime of Object.keys(baseImages)) {
    const override = env[`LAMBDA_BASE_IMAGE_${runtime.toUpperCase()}`];
    if (override) baseImages[runtime] = override;
  }
  return {
    port: port(env.LAMBDA_PORT, defaults.port ?? 8080, 'LAMBDA_PORT'),
    host: env.LAMBDA_HOST ?? defaults.host ?? '0.0.0.0',
    sshPort: port(env.LAMBDA_SSH_PORT, defaults.sshPort ?? 2222, 'LAMBDA_SSH_PORT'),
    domain: (env.LAMBDA_DOMAIN ?? defaults.domain ?? 'localhost').toLowerCase(),
    dataDir: path.resolve(env.LAMBDA_DATA_DIR ?? defaults.dataDir ?? './data'),
    baseImages,
    apiKey: env.LAMBDA_API_KEY || undefined,
    projectRoot: PROJECT_ROOT,
  };
}

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new Error(`${name} must be a port number, got "${value}"`);
  return parsed;
}
