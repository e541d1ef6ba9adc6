// Loads the settings table: each setting from its LAMBDA_* variable, else config/default.yaml, else the table's default.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { SETTINGS, type Section, type Setting, type Settings } from './settings.js';
import type { Raw } from './kinds.js';

/** What the server runs with: the loaded settings, a few resolved against each other, and where the project is. */
export type Config = Omit<Settings, 'sshHost' | 'baseImages'> & {
  /** LAMBDA_SSH_HOST, else the HTTP listener's host. */
  sshHost: string;
  /** Base image per runtime name: "local", "official" or an image. */
  baseImages: Record<string, string>;
  /** Where the project's own files are (buildpacks/, hooks/). */
  projectRoot: string;
};

/** The folder holding package.json, whether this runs from server/ (tsx) or dist/server/ (built). */
export const PROJECT_ROOT = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));

function findProjectRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json')) && dir !== path.dirname(dir)) dir = path.dirname(dir);
  return dir;
}

/** Throws a message naming where a bad value came from: the variable, or the file and key. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, file = path.join(PROJECT_ROOT, 'config', 'default.yaml')): Config {
  const source = { env, file: fileLabel(file) };
  const yaml = readYaml(file, source.file);
  if (!isMapping(yaml)) throw new Error(`${source.file} must be a mapping of settings`);
  refuseUnknownKeys(SETTINGS, yaml, source.file, '');
  const settings = readSection(SETTINGS, yaml, source, '') as Settings;
  return { ...settings, sshHost: settings.sshHost ?? settings.host, dataDir: path.resolve(settings.dataDir), projectRoot: PROJECT_ROOT };
}

/** How messages name a config file: the shipped one by its path in the project, as an operator opens it. */
export function fileLabel(file: string): string {
  const relative = path.relative(PROJECT_ROOT, file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

/** A setting's default as its kind reads it; a default its own kind refuses is a mistake in the table. */
export function defaultOf<T>(key: string, setting: Setting<T>): T | undefined {
  if (setting.default === undefined) return undefined;
  const value = setting.kind.read(setting.default);
  if (value === undefined) throw new Error(`the settings table's default of ${key} (${JSON.stringify(setting.default)}) is not ${setting.kind.expected}`);
  return value;
}

type Mapping = Record<string, unknown>;

function readYaml(file: string, label: string): unknown {
  try {
    return (parse(fs.readFileSync(file, 'utf8')) ?? {}) as unknown;
  } catch (error) {
    throw new Error(`${label}: ${(error as Error).message}`);
  }
}

const isMapping = (value: unknown): value is Mapping => typeof value === 'object' && value !== null && !Array.isArray(value);

function readSection(section: Section, yaml: Mapping, source: { env: NodeJS.ProcessEnv; file: string }, prefix: string): Mapping {
  const values: Mapping = {};
  for (const [key, entry] of Object.entries(section)) {
    values[key] = isSetting(entry) ? readSetting(prefix + key, entry, yaml[key], source) : readSection(entry, (yaml[key] ?? {}) as Mapping, source, `${prefix}${key}.`);
  }
  return values;
}

function readSetting(key: string, setting: Setting<unknown>, fromFile: unknown, source: { env: NodeJS.ProcessEnv; file: string }): unknown {
  const fromEnv = source.env[setting.variable];
  // An empty variable counts as unset, as systemd's `Environment=NAME=` writes one.
  if (fromEnv !== undefined && fromEnv !== '') return read(setting, fromEnv, `${setting.variable}=${JSON.stringify(fromEnv)} in the environment`);
  if (fromFile !== undefined && fromFile !== null) return read(setting, fromFile, `${key}: ${JSON.stringify(fromFile)} in ${source.file}`);
  return defaultOf(key, setting);
}

function read(setting: Setting<unknown>, raw: unknown, where: string): unknown {
  const value = typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean' ? setting.kind.read(raw as Raw) : undefined;
  if (value === undefined) throw new Error(`${where} must be ${setting.kind.expected}`);
  return value;
}

function isSetting(entry: Setting<unknown> | Section): entry is Setting<unknown> {
  return typeof entry.variable === 'string';
}

/** A key the table lacks would be ignored without a word (a typo, or a setting that is environment-only): refused instead. */
function refuseUnknownKeys(section: Section, yaml: Mapping, file: string, prefix: string): void {
  for (const [key, value] of Object.entries(yaml)) {
    const entry = section[key];
    if (entry === undefined) throw new Error(`${file}: ${prefix}${key} is not a setting (docs/configuration.md lists them)`);
    if (isSetting(entry)) {
      if (!entry.inFile) throw new Error(`${file}: ${prefix}${key} is read from the environment only (${entry.variable})`);
    } else if (value !== null) {
      if (!isMapping(value)) throw new Error(`${file}: ${prefix}${key} must be a mapping of settings`);
      refuseUnknownKeys(entry, value, file, `${prefix}${key}.`);
    }
  }
}
