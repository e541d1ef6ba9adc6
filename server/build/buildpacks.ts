// Loads buildpacks/<runtime>/buildpack.json: adding a runtime adds a folder, not code.
import fs from 'node:fs';
import path from 'node:path';

export interface Buildpack {
  runtime: string;
  dir: string;
  /** Files of the buildpack folder copied into every build context. */
  files: string[];
  template: string;
  base: { official: string; local: { commands: string[] } };
  install?: { ifFile: string; unlessFile?: string; ifJsonKey?: string; dockerfile: string };
}

export function loadBuildpacks(root: string): Map<string, Buildpack> {
  const packs = new Map<string, Buildpack>();
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    const dir = path.join(root, entry.name);
    const manifestFile = path.join(dir, 'buildpack.json');
    if (!entry.isDirectory() || !fs.existsSync(manifestFile)) continue;
    const spec = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Omit<Buildpack, 'dir' | 'template'>;
    const template = fs.readFileSync(path.join(dir, 'Dockerfile.template'), 'utf8');
    packs.set(spec.runtime, { ...spec, dir, template });
  }
  return packs;
}
