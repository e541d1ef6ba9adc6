// The env verbs: variables stored server-side (never in git), merged over the manifest's `env` and applied
// as a new release of the live version without a rebuild, as Heroku's config:set does.
import { LambdaError } from '../errors.js';
import type { Instance } from '../instances/engine.js';
import type { ReleaseRecord } from '../store/types.js';
import type { Deps } from './deps.js';
import { ENV_NAME, reservedEnvReason } from './env-names.js';
import { lockFunction } from './lock.js';
import { assertFunctionName } from './names.js';
import { storedSpec } from './spec.js';
import { stepLine } from '../logs/progress-text.js';

const MAX_VARS = 200;
const MAX_NAME_LENGTH = 128;
const MAX_VALUE_BYTES = 32 * 1024;
const MASK = '••••••';

export interface EnvView {
  name: string;
  /** Set with `lambda env set`: masked unless revealed. */
  vars: Record<string, string>;
  /** From the live version's lambda.yaml (overridden by `vars`); these are in git, so never masked. */
  manifest: Record<string, string>;
  revealed: boolean;
}

/** The env of `name`. Throws LAMBDA_ERR_INVALID_NAME, LAMBDA_ERR_FUNCTION_NOT_FOUND. */
export function getEnv(deps: Pick<Deps, 'store'>, input: { name: string; reveal?: boolean }): EnvView {
  const name = existing(deps, input.name);
  const vars = deps.store.env.get(name);
  const live = deps.store.versions.live(name);
  const manifest = live ? ((JSON.parse(live.manifest) as { env?: Record<string, string> }).env ?? {}) : {};
  const shown = input.reveal ? vars : Object.fromEntries(Object.keys(vars).map((key) => [key, MASK]));
  return { name, vars: shown, manifest, revealed: input.reveal === true };
}

export interface EnvChange {
  name: string;
  set?: Record<string, string>;
  unset?: string[];
  who: string;
}

export interface EnvResult {
  name: string;
  /** The release made; null without a live version (the change applies at the first deploy) or when nothing changed. */
  release: ReleaseRecord | null;
  keys: string[];
  /** False when every name to unset was not set (and nothing was to be set): no release, no restart. */
  changed: boolean;
  /** Names asked to be unset that were not set with `lambda env set`. */
  notSet: string[];
}

/**
 * Sets and unsets variables of `name`, then serves the live version with them: a fresh instance of the same image
 * starts with the new env and takes over as a deploy does (requests in flight finish on the old instances). Nothing
 * is stored unless that instance answers; names to unset that are not set are only reported. Throws
 * LAMBDA_ERR_INVALID_NAME, LAMBDA_ERR_FUNCTION_NOT_FOUND, LAMBDA_ERR_ENV_RESERVED (a reserved or malformed name, a bad
 * value), LAMBDA_ERR_BAD_REQUEST (nothing to change), LAMBDA_ERR_DEPLOY_IN_PROGRESS, LAMBDA_ERR_FUNCTION_BUSY,
 * LAMBDA_ERR_HEALTHCHECK_FAILED.
 */
export async function changeEnv(deps: Deps, input: EnvChange): Promise<EnvResult> {
  const name = existing(deps, input.name);
  const set = input.set ?? {};
  const unset = input.unset ?? [];
  for (const [key, value] of Object.entries(set)) checkVar(key, value);
  for (const key of unset) checkName(key);
  if (Object.keys(set).length === 0 && unset.length === 0) throw new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: 'give at least one KEY=VALUE to set or KEY to unset' });
  const unlock = lockFunction(name, 'env change');
  try {
    // No prototype: a name is only ever the variable it says, never an object's inherited key.
    const vars: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, deps.store.env.get(name));
    // Unsetting a name that is not set changes nothing, so it makes no release and restarts nothing (as a no-op
    // config change should); the answer names it, since it is most likely a typo.
    const notSet = [...new Set(unset.filter((key) => !Object.hasOwn(vars, key)))];
    const removed = [...new Set(unset.filter((key) => Object.hasOwn(vars, key)))];
    if (Object.keys(set).length === 0 && removed.length === 0) return { name, release: null, keys: Object.keys(vars).sort(), changed: false, notSet };
    for (const key of removed) delete vars[key];
    Object.assign(vars, set);
    if (Object.keys(vars).length > MAX_VARS) throw new LambdaError('LAMBDA_ERR_ENV_RESERVED', { key: '*', reason: `at most ${MAX_VARS} variables per function` });
    const detail = [Object.keys(set).length > 0 ? `set ${Object.keys(set).join(', ')}` : '', removed.length > 0 ? `unset ${removed.join(', ')}` : ''].filter(Boolean).join('; ');
    const live = deps.store.versions.live(name);
    if (!live) {
      deps.store.env.replace(name, vars);
      return { name, release: null, keys: Object.keys(vars).sort(), changed: true, notSet };
    }
    // A new instance of the same image with the new env; the store changes only once it answers.
    const spec = storedSpec(live, vars);
    const instance: Instance = await deps.engine.start(spec);
    let release: ReleaseRecord;
    try {
      release = deps.store.env.replace(name, vars, { fn: name, kind: 'env', fromVersion: live.number, toVersion: live.number, who: input.who, detail }) as ReleaseRecord;
    } catch (error) {
      await deps.engine.stop(instance);
      throw error;
    }
    await deps.pool.activate(spec, instance);
    deps.log(stepLine(`Env of ${name} changed (${detail}) for ${input.who}: v${live.number} serves with it`));
    return { name, release, keys: Object.keys(vars).sort(), changed: true, notSet };
  } finally {
    unlock();
  }
}

function existing(deps: Pick<Deps, 'store'>, raw: string): string {
  const name = assertFunctionName(raw);
  if (!deps.store.functions.get(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
  return name;
}

function checkName(key: string): void {
  const shown = key.length > 80 ? `${key.slice(0, 80)}…` : key;
  if (!ENV_NAME.test(key) || key.length > MAX_NAME_LENGTH) {
    throw new LambdaError('LAMBDA_ERR_ENV_RESERVED', { key: shown, reason: `not a valid variable name (letters, digits and _, not starting with a digit, at most ${MAX_NAME_LENGTH})` });
  }
  const reason = reservedEnvReason(key);
  if (reason) throw new LambdaError('LAMBDA_ERR_ENV_RESERVED', { key: shown, reason });
}

function checkVar(key: string, value: unknown): void {
  checkName(key);
  if (typeof value !== 'string') throw new LambdaError('LAMBDA_ERR_ENV_RESERVED', { key, reason: 'the value must be a string' });
  if (value.includes('\0')) throw new LambdaError('LAMBDA_ERR_ENV_RESERVED', { key, reason: 'the value must not contain a NUL byte' });
  if (Buffer.byteLength(value) > MAX_VALUE_BYTES) throw new LambdaError('LAMBDA_ERR_ENV_RESERVED', { key, reason: `the value is over ${MAX_VALUE_BYTES / 1024} KiB` });
}
