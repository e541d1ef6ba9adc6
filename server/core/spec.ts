// Turns a stored version into what the runtime needs to start it.
import type { InstanceSpec } from '../runtime/types.js';
import type { VersionRecord } from '../store/types.js';
import type { Manifest } from './manifest.js';

export function instanceSpec(version: Pick<VersionRecord, 'fn' | 'number' | 'sha' | 'image'>, manifest: Manifest): InstanceSpec {
  return {
    fn: version.fn,
    version: version.number,
    sha: version.sha,
    image: version.image,
    handler: manifest.handler ?? '',
    timeoutMs: manifest.timeoutMs,
    memoryBytes: manifest.memoryBytes,
    concurrency: manifest.concurrency,
    env: manifest.env,
  };
}

export function storedSpec(version: VersionRecord): InstanceSpec {
  return instanceSpec(version, JSON.parse(version.manifest) as Manifest);
}
