// Reads a function's package.json and lock file before the install container sees them: its own scripts and
// workspaces are removed, and a dependency on a local path is refused, naming it.
import path from 'node:path';
import { LambdaError } from '../../errors.js';
import { cleanLine } from '../clean-text.js';

const MANIFEST = 'package.json';
const LOCK_FILES = ['package-lock.json', 'npm-shrinkwrap.json'];
/** Fields of package.json whose values are dependency specs (overrides nest them in objects). */
const SPEC_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies', 'overrides'];
const WHY = 'the install holds package.json and the lock file, no other file, so every dependency comes from the registry';

/**
 * The inputs as the container gets them. The function's own lifecycle scripts never run: the install holds its
 * manifest, not its code. A `file:` (or `link:`, or path) dependency could only point at a folder outside the
 * function's, such as the install's own inputs, so it is refused before anything runs. A file npm cannot parse
 * either is passed on unchanged: npm reports it, and reads nothing from it.
 */
export function npmInputs(inputs: Map<string, Buffer>): Map<string, Buffer> {
  const result = new Map(inputs);
  const manifestBytes = inputs.get(MANIFEST);
  const manifest = manifestBytes && parse(manifestBytes);
  if (isObject(manifest)) {
    checkSpecs(manifest);
    delete manifest.scripts;
    delete manifest.workspaces;
    result.set(MANIFEST, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
  }
  for (const name of LOCK_FILES) {
    const bytes = inputs.get(name);
    const lock = bytes && parse(bytes);
    if (isObject(lock)) checkLock(name, lock);
  }
  return result;
}

/** As npm parses them: a leading byte order mark dropped, then JSON. */
function parse(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  } catch {
    return undefined;
  }
}

function checkSpecs(manifest: Record<string, unknown>): void {
  for (const field of SPEC_FIELDS) {
    const walk = (value: unknown, name: string) => {
      if (typeof value === 'string' && isLocalSpec(value)) refuse(`${MANIFEST}: the dependency ${quote(name)} is a local path (${quote(value)})`);
      // In overrides, "." is the package's own spec and other keys are its dependencies.
      if (isObject(value)) for (const [key, inner] of Object.entries(value)) walk(inner, key === '.' ? name : key);
    };
    const specs = manifest[field];
    if (isObject(specs)) for (const [name, spec] of Object.entries(specs)) walk(spec, name);
  }
}

/**
 * Lock entries that lead outside the function's folder (version 1 `dependencies`, versions 2 and 3 `packages`):
 * npm installs what the lock says, so a link there would do what package.json may not. Links inside the folder
 * (a monorepo's workspaces) lead to folders the install does not hold, and npm drops them.
 */
function checkLock(file: string, lock: Record<string, unknown>): void {
  const packages = lock.packages;
  if (isObject(packages)) {
    for (const [where, entry] of Object.entries(packages)) {
      if (where === '' || !isObject(entry)) continue;
      const resolved = typeof entry.resolved === 'string' ? entry.resolved : '';
      const target = entry.link === true ? resolved : /^file:/i.test(resolved) ? resolved.slice(5) : '';
      if (leavesFolder(where) || (target !== '' && leavesFolder(target))) {
        refuse(`${file}: ${quote(where)} leads outside the function's folder${resolved ? ` (${quote(resolved)})` : ''}`);
      }
    }
  }
  const walk = (dependencies: unknown) => {
    if (!isObject(dependencies)) return;
    for (const [name, entry] of Object.entries(dependencies)) {
      if (!isObject(entry)) continue;
      for (const spec of [entry.version, entry.resolved]) {
        if (typeof spec === 'string' && /^file:/i.test(spec.trim()) && leavesFolder(spec.trim().slice(5))) {
          refuse(`${file}: the dependency ${quote(name)} leads outside the function's folder (${quote(spec)})`);
        }
      }
      walk(entry.dependencies);
    }
  };
  walk(lock.dependencies);
}

/** A path that is absolute, from a home folder, or climbs out of the folder it is relative to. */
function leavesFolder(where: string): boolean {
  const slashed = where.trim().replaceAll('\\', '/');
  if (/^(?:\/|~|[a-z]:)/i.test(slashed)) return true;
  return path.posix.normalize(slashed).split('/')[0] === '..';
}

/** A spec npm resolves to a folder or tarball on disk rather than from the registry or a URL. */
export function isLocalSpec(raw: string): boolean {
  const spec = raw.trim();
  if (/^(?:file|link|portal):/i.test(spec)) return true;
  if (/^npm:/i.test(spec)) {
    // An alias: npm:name@spec (a scoped name starts with @).
    const body = spec.slice(4);
    const at = body.indexOf('@', 1);
    return at !== -1 && isLocalSpec(body.slice(at + 1));
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(spec) && !/^[a-z]:[\\/]/i.test(spec)) return false;
  return /^(?:\.|~|\/|\\|[a-z]:)/i.test(spec) || /\.(?:tgz|tar|tar\.gz)$/i.test(spec);
}

function refuse(what: string): never {
  throw new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail: cleanLine(`${what}: ${WHY}`) });
}

function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
