// The image registry the platform runs on the swarm's manager (Debian's docker-registry): its two processes' settings
// and their files, and how an image is deleted from it and its space given back.
import fs from 'node:fs';
import path from 'node:path';

/** The program Debian's docker-registry package installs. */
export const REGISTRY_PROGRAM = 'docker-registry';

export interface RegistrySide {
  /** `host:port` it listens on. */
  listen: string;
  /** The folder it keeps images in; both sides share it. */
  storageDir: string;
  /** The pull side refuses every write (push, delete): it is the only side the workers' engines can reach. */
  readOnly: boolean;
}

/**
 * One side's configuration. The platform runs two processes on one storage folder: the write side on the manager's
 * loopback (only the manager's engine pushes, only the platform deletes) and the read-only side on the manager's
 * swarm address for the workers' engines. Nothing else is turned on: no debug listener, no cache that could answer
 * for a blob the other side has deleted, no access log (every pull would be a line). JSON is YAML, so the text is
 * the file the registry reads.
 */
export function registryConfig(side: RegistrySide): string {
  return `${JSON.stringify({
    version: 0.1,
    log: { level: 'info', formatter: 'text', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: side.storageDir },
      delete: { enabled: !side.readOnly },
      maintenance: {
        // An upload a push abandoned is removed after a day rather than the default week: a build pushes, then deploys.
        uploadpurging: { enabled: !side.readOnly, age: '24h', interval: '1h', dryrun: false },
        readonly: { enabled: side.readOnly },
      },
    },
    http: { addr: side.listen, headers: { 'X-Content-Type-Options': ['nosniff'] } },
  }, null, 2)}\n`;
}

/** The two sides' configuration files in the registry's folder, which is also their storage. */
export function registryFiles(dir: string): { write: string; read: string } {
  return { write: path.join(dir, 'write.yml'), read: path.join(dir, 'read.yml') };
}

/**
 * Writes both sides' configuration into `dir` (made if missing) for the operator's two processes to serve from: the
 * write side at `push`, the read-only side at `pull`, both on `dir` as storage. The files are written whole and then
 * renamed, so a side that starts meanwhile reads the old file or the new one, never half of one.
 */
export function writeRegistryConfigs(dir: string, sides: { push: string; pull: string }): { write: string; read: string } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = registryFiles(dir);
  for (const [file, side] of [[files.write, { listen: sides.push, storageDir: dir, readOnly: false }], [files.read, { listen: sides.pull, storageDir: dir, readOnly: true }]] as const) {
    fs.writeFileSync(`${file}.new`, registryConfig(side), { mode: 0o600 });
    fs.renameSync(`${file}.new`, file);
  }
  return files;
}

/** The arguments that serve one side from its configuration file. */
export function serveArgs(configFile: string): string[] {
  return ['serve', configFile];
}

/**
 * The arguments of the registry's garbage collection: blobs no manifest refers to any more are removed, and
 * manifests no tag names (`--delete-untagged`). It must run while no push is under way (an upload not yet named by a
 * manifest would be swept): the server runs it holding the image gate alone, which every push shares, and both
 * sides keep serving meanwhile, as neither keeps a cache of what the collection removes.
 */
export function garbageCollectArgs(configFile: string): string[] {
  return ['garbage-collect', '--delete-untagged', configFile];
}

/** The manifest types an engine pushes; the registry answers a digest only for an Accept it names. */
const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** A repository or tag as the registry's API takes it: anything else is refused before it is put in a URL. */
const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** How long one request to the registry may take. */
const REQUEST_TIMEOUT_MS = 10_000;

/** The most tags of one repository looked at before a deletion: a function's repository holds its kept versions. */
export const MAX_TAGS = 5_000;

export interface Deletion {
  /** True when the manifest was deleted (its layers go with the next garbage collection). */
  deleted: boolean;
  /** Another tag, still kept, that names the same manifest: nothing was deleted. */
  keptBy?: string;
  /** The manifest's digest, when the tag was there. */
  digest?: string;
}

const headDigest = async (base: string, name: string, reference: string): Promise<string | undefined> => {
  // A registry that hangs must not hold the caller (a removal holds the image gate) for ever.
  const head = await fetch(`${base}/v2/${name}/manifests/${reference}`, { method: 'HEAD', headers: { accept: MANIFEST_TYPES }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  if (head.status === 404) return undefined;
  const digest = head.headers.get('docker-content-digest');
  if (!head.ok || !digest || !/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`the registry answered ${head.status} for ${name}:${reference}`);
  return digest;
};

/** The repository's tags, as the registry lists them (none when it has no such repository). */
export async function listTags(base: string, name: string): Promise<string[]> {
  if (!NAME.test(name)) throw new Error(`not an image name: ${name}`);
  const answer = await fetch(`${base}/v2/${name}/tags/list`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  if (answer.status === 404) return [];
  if (!answer.ok) throw new Error(`the registry answered ${answer.status} for the tags of ${name}`);
  // Once its last manifest is deleted, a repository answers `"tags": null`.
  const tags = ((await answer.json()) as { tags?: unknown }).tags ?? [];
  if (!Array.isArray(tags)) throw new Error(`the registry listed no tags for ${name}`);
  return tags.filter((tag): tag is string => typeof tag === 'string' && TAG.test(tag));
}

/**
 * Deletes `name:tag` from the write side at `base` (`http://127.0.0.1:5001`) through the registry's API, unless a
 * tag `keeps` still wants names the same manifest. The registry (2.8) deletes a manifest, not a tag: DELETE of the
 * digest drops every tag that names it, and two versions of identical content (an empty commit, a revert) build to
 * one image and push one manifest. So the repository's tags are listed, those `keeps` accepts are asked for their
 * digest, and one that matches keeps the manifest: nothing is deleted, and the tag stays until its manifest goes
 * with the last kept tag naming it. This is exact as long as nothing pushes between the listing and the DELETE (the
 * caller makes sure). By default every other tag keeps it. Its layers stay on disk until the next garbage collection.
 */
export async function deleteImage(base: string, name: string, tag: string, keeps: (other: string) => boolean = () => true): Promise<Deletion> {
  if (!NAME.test(name) || !TAG.test(tag)) throw new Error(`not an image name: ${name}:${tag}`);
  const digest = await headDigest(base, name, tag);
  if (!digest) return { deleted: false };
  const others = (await listTags(base, name)).filter((other) => other !== tag && keeps(other));
  if (others.length > MAX_TAGS) throw new Error(`${others.length} kept tags of ${name} to compare, past ${MAX_TAGS}`);
  for (const other of others) {
    if ((await headDigest(base, name, other)) === digest) return { deleted: false, keptBy: other, digest };
  }
  const removed = await fetch(`${base}/v2/${name}/manifests/${digest}`, { method: 'DELETE', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  if (removed.status !== 202 && removed.status !== 404) throw new Error(`the registry answered ${removed.status} to deleting ${name}@${digest}`);
  return { deleted: removed.status === 202, digest };
}
