// The docker runtime's build: the repository's own Dockerfile, built with no network from the platform's local
// base images only (`FROM lambda/python3`, `FROM lambda/node20`, `FROM scratch`, or an earlier stage).
import fs from 'node:fs';
import path from 'node:path';
import { LambdaError } from '../errors.js';
import type { Runtime } from '../runtime/types.js';

export const REPOSITORY_DOCKERFILE = 'Dockerfile';
const MAX_DOCKERFILE_BYTES = 256 * 1024;
/** What a Dockerfile may name as an image: the platform's base images by runtime, published as `lambda/<runtime>`. */
const BASE_ALIAS = /^lambda\/([a-z0-9-]+)(?::latest)?$/;

export interface BaseImages {
  /** Runtimes whose base image a Dockerfile may start FROM, e.g. python3, node20. */
  runtimes: string[];
  /** Makes sure the runtime's base image exists and returns its tag (assembled on first use when so configured). */
  ensure(runtime: string): Promise<string>;
}

/**
 * Reads the repository's Dockerfile and returns the base runtimes it starts from. Throws LAMBDA_ERR_BUILD_FAILED when
 * there is none, or when it names an image that is not one of the platform's bases (another function's image, a
 * registry image, a variable), with its line: a build may read only what the platform published for everyone.
 */
export function checkDockerfile(codeDir: string, runtimes: string[]): string[] {
  const file = path.join(codeDir, REPOSITORY_DOCKERFILE);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    throw failed(`runtime docker needs a ${REPOSITORY_DOCKERFILE} at the repository root`);
  }
  if (!stat.isFile()) throw failed(`${REPOSITORY_DOCKERFILE} must be a regular file, not a link or a folder`);
  if (stat.size > MAX_DOCKERFILE_BYTES) throw failed(`${REPOSITORY_DOCKERFILE} is over ${MAX_DOCKERFILE_BYTES / 1024} KiB`);
  return baseRuntimes(fs.readFileSync(file, 'utf8'), runtimes);
}

/** The runtimes a Dockerfile's FROM lines name (see checkDockerfile). Exported for unit tests. */
export function baseRuntimes(text: string, runtimes: string[]): string[] {
  const used = new Set<string>();
  const stages = new Set<string>();
  let stageCount = 0;
  for (const { line, number } of instructions(text)) {
    const [instruction = '', ...rest] = line.split(/\s+/);
    const keyword = instruction.toUpperCase();
    const args = rest.filter((word) => !word.startsWith('--platform='));
    if (keyword === 'FROM') {
      const image = args[0] ?? '';
      const alias = BASE_ALIAS.exec(image);
      if (image.includes('$')) throw failed(`${REPOSITORY_DOCKERFILE} line ${number}: FROM must name an image, not a variable`);
      if (alias && runtimes.includes(alias[1])) used.add(alias[1]);
      else if (image.toLowerCase() !== 'scratch' && !stages.has(image.toLowerCase())) throw failed(unknownImage(number, image, runtimes));
      if (args[1]?.toUpperCase() === 'AS' && args[2]) stages.add(args[2].toLowerCase());
      stageCount += 1;
    } else if (keyword === 'COPY' || keyword === 'ADD') {
      for (const word of rest) {
        const from = /^--from=(.*)$/i.exec(word)?.[1];
        if (from === undefined) continue;
        const earlier = stages.has(from.toLowerCase()) || (/^\d+$/.test(from) && Number(from) < stageCount);
        if (!earlier) throw failed(`${REPOSITORY_DOCKERFILE} line ${number}: ${keyword} --from may name an earlier stage only, not ${JSON.stringify(from.slice(0, 80))}`);
      }
    }
  }
  if (stageCount === 0) throw failed(`${REPOSITORY_DOCKERFILE} has no FROM line`);
  return [...used];
}

function unknownImage(line: number, image: string, runtimes: string[]): string {
  const allowed = [...runtimes.map((runtime) => `lambda/${runtime}`), 'scratch'].join(', ');
  return `${REPOSITORY_DOCKERFILE} line ${line}: FROM ${JSON.stringify(image.slice(0, 80))} is not available: builds have no registry, so FROM may name ${allowed} or an earlier stage`;
}

/** Instructions with their first line number: comments dropped, backslash continuations joined. */
function instructions(text: string): { line: string; number: number }[] {
  const lines = text.split(/\r?\n/);
  if (lines.slice(0, 5).some((line) => /^#\s*escape\s*=/i.test(line))) throw failed(`${REPOSITORY_DOCKERFILE}: the escape parser directive is not supported`);
  const result: { line: string; number: number }[] = [];
  let current = '';
  let start = 0;
  lines.forEach((raw, index) => {
    const trimmed = raw.trim();
    if (current === '' && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (current !== '' && trimmed.startsWith('#')) return;
    if (current === '') start = index + 1;
    if (trimmed.endsWith('\\')) {
      current += `${trimmed.slice(0, -1)} `;
      return;
    }
    current += trimmed;
    result.push({ line: current.trim(), number: start });
    current = '';
  });
  if (current.trim() !== '') result.push({ line: current.trim(), number: start });
  return result;
}

/**
 * Publishes each named runtime's base image as `lambda/<runtime>:latest` (a build of `FROM <base>`, cheap once
 * cached), so a repository's Dockerfile can start from it on any machine, whatever the base's hash is.
 */
export async function publishBases(runtime: Pick<Runtime, 'buildImage'>, bases: BaseImages, names: string[], workDir: string): Promise<void> {
  for (const name of names) {
    const base = await bases.ensure(name);
    const dir = fs.mkdtempSync(path.join(workDir, `alias-${name}-`));
    try {
      fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${base}\n`);
      await runtime.buildImage({ tag: `lambda/${name}:latest`, contextDir: dir }, () => {});
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

function failed(detail: string): LambdaError {
  return new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail });
}
