// The docker runtime's build: the repository's own Dockerfile, checked, rewritten in canonical form and built with no
// network from the platform's local base images only (`FROM lambda/python3`, `FROM lambda/node20`, `FROM scratch`,
// or an earlier stage); the built image is checked again before it is used.
import fs from 'node:fs';
import path from 'node:path';
import { LambdaError } from '../../errors.js';
import type { ImageFacts, Engine } from '../../instances/engine.js';
import { readRepositoryFile } from '../repository-file.js';
import { LABELS, PLATFORM_LABEL_PREFIX } from '../../instances/labels.js';
import { canonicalDockerfile, DockerfileError, parseDockerfile, type ParsedDockerfile } from './canonical.js';

const REPOSITORY_DOCKERFILE = 'Dockerfile';
const MAX_DOCKERFILE_BYTES = 256 * 1024;

export interface BaseImages {
  /** Runtimes whose base image a Dockerfile may start FROM, e.g. python3, node20. */
  runtimes: string[];
  /** Makes sure the runtime's base image exists and returns its tag (assembled on first use when so configured). */
  ensure(runtime: string): Promise<string>;
}

/**
 * Reads the repository's Dockerfile strictly (server/builder/dockerfile/canonical.ts). Throws LAMBDA_ERR_BUILD_FAILED
 * when there is none, when it is a link or too large, or when it uses anything a build here may not, with its line.
 */
export function checkDockerfile(codeDir: string, runtimes: string[]): ParsedDockerfile {
  const bytes = readRepositoryFile(codeDir, REPOSITORY_DOCKERFILE, MAX_DOCKERFILE_BYTES);
  if (!bytes) throw failed(`runtime docker needs a ${REPOSITORY_DOCKERFILE} at the repository root`);
  return parse(bytes.toString('utf8'), runtimes);
}

/** parseDockerfile with its errors as LAMBDA_ERR_BUILD_FAILED naming the Dockerfile. */
export function parse(text: string, runtimes: string[]): ParsedDockerfile {
  try {
    return parseDockerfile(text, runtimes);
  } catch (error) {
    if (error instanceof DockerfileError) throw failed(`${REPOSITORY_DOCKERFILE} ${error.message}`);
    throw error;
  }
}

/**
 * Replaces the repository's Dockerfile in `codeDir` with the canonical one, FROM each base's image id (ensured
 * first), so the engine builds exactly what was checked and never looks an image up by name (nor pulls one).
 */
export async function writeCanonical(runtime: Pick<Engine, 'inspectImage'>, bases: BaseImages, parsed: ParsedDockerfile, codeDir: string, buildLabel?: string): Promise<Record<string, ImageFacts>> {
  const facts: Record<string, ImageFacts> = {};
  for (const name of parsed.runtimes) {
    const found = await runtime.inspectImage?.(await bases.ensure(name));
    if (!found) throw failed(`the base image of ${name} could not be found`);
    facts[name] = found;
  }
  const ids = Object.fromEntries(Object.entries(facts).map(([name, found]) => [name, found.id]));
  const file = path.join(codeDir, REPOSITORY_DOCKERFILE);
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, canonicalDockerfile(parsed, ids, buildLabel), { flag: 'wx' });
  return facts;
}

/**
 * What the engine built, checked before anything uses it: no volumes, no platform label (`lambda.*`: containers
 * inherit an image's labels, and the platform finds its containers by them) but the build label `label`, the layers
 * of the base its final stage names first, and no more than `maxBytes` on top of that base, counting what the
 * build's other stages wrote (`others` bytes). Returns why it is refused, or undefined.
 */
export function refusal(built: ImageFacts, base: ImageFacts | undefined, maxBytes: number, build: { others: number; label?: string } = { others: 0 }): string | undefined {
  if (built.volumes.length > 0) return `the image declares volumes (${built.volumes.slice(0, 5).join(', ')}), which functions may not have`;
  const platform = Object.entries(built.labels ?? {}).filter(([key, value]) => key.toLowerCase().startsWith(PLATFORM_LABEL_PREFIX) && !(key === LABELS.build && value === build.label) && !(key === LABELS.managed && value === 'true'));
  if (platform.length > 0) return `the image sets platform labels (${platform.slice(0, 5).map(([key]) => JSON.stringify(key.slice(0, 60))).join(', ')}), which functions may not have`;
  const prefix = base?.layers ?? [];
  if (!prefix.every((layer, i) => built.layers[i] === layer)) return 'the image is not built on the base image its Dockerfile names';
  const added = built.sizeBytes - (base?.sizeBytes ?? 0);
  const mib = (bytes: number) => Math.ceil(bytes / 1024 / 1024);
  if (added > maxBytes) return `the image adds ${mib(added)} MiB to its base, over this server's maximum code size of ${mib(maxBytes)} MiB (LAMBDA_MAX_CODE_SIZE)`;
  if (added + build.others > maxBytes) {
    return `the build wrote ${mib(added + build.others)} MiB (${mib(build.others)} MiB in its other stages), over this server's maximum code size of ${mib(maxBytes)} MiB (LAMBDA_MAX_CODE_SIZE)`;
  }
  return undefined;
}

function failed(detail: string): LambdaError {
  return new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail });
}
