// Lays out one build context: the commit's files under code/, the buildpack's files, the installed dependencies
// (a tar the build ADDs) and the rendered Dockerfile.
import fs from 'node:fs';
import path from 'node:path';
import type { Buildpack, InstallStep } from './buildpacks.js';

/** The name of the dependencies' tar inside the build context. */
export const DEPENDENCIES_ARCHIVE = 'dependencies.tar';

/** True when the commit in `codeDir` needs the buildpack's install step. Reads no file through a symlink. */
export function needsInstall(install: InstallStep | undefined, codeDir: string): install is InstallStep {
  if (!install) return false;
  const manifest = path.join(codeDir, install.ifFile);
  if (!isPresent(manifest)) return false;
  if (install.unlessFile && isPresent(path.join(codeDir, install.unlessFile))) return false;
  return !install.ifJsonKey || hasEntries(manifest, install.ifJsonKey);
}

/** Renders the Dockerfile into `dir` (which already holds code/); links or copies the dependencies' tar beside it. */
export function prepareContext(pack: Buildpack, baseImage: string, dir: string, dependencies?: string): void {
  for (const file of pack.files) fs.copyFileSync(path.join(pack.dir, file), path.join(dir, file));
  let install = '';
  if (dependencies && pack.install) {
    const target = path.join(dir, DEPENDENCIES_ARCHIVE);
    // A hard link costs nothing; the cache may sit on another file system, then it is copied.
    try {
      fs.linkSync(dependencies, target);
    } catch {
      fs.copyFileSync(dependencies, target);
    }
    install = pack.install.dockerfile.replaceAll('{{ARCHIVE}}', DEPENDENCIES_ARCHIVE);
  }
  const dockerfile = pack.template.replaceAll('{{BASE_IMAGE}}', baseImage).replaceAll('{{INSTALL}}', install);
  fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
}

function isPresent(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

function hasEntries(file: string, key: string): boolean {
  try {
    if (!fs.lstatSync(file).isFile()) return true; // the install step reports what is wrong with it
    const value = (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>)[key];
    return typeof value === 'object' && value !== null && Object.keys(value).length > 0;
  } catch {
    return true; // let the install step report the broken file
  }
}
