// Lays out one build context: the commit's files under code/, the buildpack's files and the rendered Dockerfile.
import fs from 'node:fs';
import path from 'node:path';
import type { Buildpack } from './buildpacks.js';

/** Renders the Dockerfile into `dir` (which already holds code/); returns whether the build needs the network. */
export function prepareContext(pack: Buildpack, baseImage: string, dir: string): { network: boolean } {
  for (const file of pack.files) fs.copyFileSync(path.join(pack.dir, file), path.join(dir, file));
  const install = pack.install;
  const code = path.join(dir, 'code');
  const needsInstall =
    install !== undefined &&
    fs.existsSync(path.join(code, install.ifFile)) &&
    !(install.unlessFile && fs.existsSync(path.join(code, install.unlessFile))) &&
    (!install.ifJsonKey || hasEntries(path.join(code, install.ifFile), install.ifJsonKey));
  const dockerfile = pack.template
    .replaceAll('{{BASE_IMAGE}}', baseImage)
    .replaceAll('{{INSTALL}}', needsInstall ? install.dockerfile : '');
  fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
  return { network: needsInstall };
}

function hasEntries(file: string, key: string): boolean {
  try {
    const value = (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>)[key];
    return typeof value === 'object' && value !== null && Object.keys(value).length > 0;
  } catch {
    return true; // let the install step report the broken file
  }
}
