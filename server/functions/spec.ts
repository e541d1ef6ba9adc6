// Turns a stored version into what the engine needs to start it.
import type { InstanceSpec } from '../instances/engine.js';
import type { VersionRecord } from '../store/types.js';
import type { Manifest } from './manifest.js';

/** What AWS Lambda names each runtime in AWS_EXECUTION_ENV. */
const EXECUTION_ENV: Partial<Record<Manifest['runtime'], string>> = { node20: 'AWS_Lambda_nodejs20.x', python3: 'AWS_Lambda_python3.11', go: 'AWS_Lambda_go1.x' };

/** `env` (set with `lambda env set`) is merged over the manifest's. */
export function instanceSpec(version: Pick<VersionRecord, 'fn' | 'number' | 'sha' | 'image'>, manifest: Manifest, env: Record<string, string> = {}): InstanceSpec {
  return {
    fn: version.fn,
    version: version.number,
    sha: version.sha,
    image: version.image,
    handler: manifest.handler ?? '',
    timeoutMs: manifest.timeoutMs,
    memoryBytes: manifest.memoryBytes,
    concurrency: manifest.concurrency,
    // Versions stored before these keys existed get the defaults.
    minInstances: manifest.minInstances ?? 0,
    maxInstances: manifest.maxInstances ?? 4,
    idleTimeoutMs: manifest.idleTimeoutMs,
    env: { ...manifest.env, ...env },
    runtime: manifest.runtime,
    executionEnv: EXECUTION_ENV[manifest.runtime],
    // Versions stored before `auth` existed are public, as they were.
    auth: manifest.auth ?? 'none',
  };
}

export function storedSpec(version: VersionRecord, env: Record<string, string> = {}): InstanceSpec {
  return instanceSpec(version, JSON.parse(version.manifest) as Manifest, env);
}
