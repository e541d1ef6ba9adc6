// Loads buildpacks/<runtime>/buildpack.json: adding a runtime adds a folder, not code.
import fs from 'node:fs';
import path from 'node:path';
import type { RegistrySpec } from './install/registry-settings.js';

/** The dependency step of a buildpack: when it applies, what it reads, the script that runs it, what it produces. */
export interface InstallStep {
  /** Install when this file exists in the repository ... */
  ifFile: string;
  /** ... unless this one exists too (dependencies committed) ... */
  unlessFile?: string;
  /** ... and `ifFile` (JSON) has a non-empty object under this key. */
  ifJsonKey?: string;
  /** The only repository files the install sees (manifest and lock files). */
  inputs: string[];
  /** How the server reads `inputs` before the container gets them (server/builder/install/npm-manifest.ts for npm). */
  manifest?: 'npm';
  /** The buildpack's script run in the install container (see server/builder/install/install.ts for its contract). */
  script: string;
  /** The interpreter that runs `script` in the base image; default ["node"]. */
  interpreter?: string[];
  /** The folder the script sends back, e.g. node_modules. */
  output: string;
  /** Dockerfile lines that add the installed folder; `{{ARCHIVE}}` is its tar in the build context. */
  dockerfile: string;
  registry: RegistrySpec;
  /** The image the install runs in when it needs more than the base image (server/builder/base/install-image.ts). */
  image?: InstallImage;
}

/**
 * An install image: `official` to pull, or what `local` assembles from this machine: `commands` as in a base image,
 * `toolchain` programs copied with every Debian package they need, the host's `python`, and `nodeHeaders`: the
 * headers of the host's `node`, so node-gyp never downloads them.
 */
export interface InstallImage {
  official: string;
  local: { commands: string[]; toolchain?: string[]; python?: string; nodeHeaders?: boolean };
}

export interface Buildpack {
  runtime: string;
  dir: string;
  /** Files and folders of the buildpack folder copied into every build context. */
  files: string[];
  template: string;
  /** `local.python`: the host's Python (this command's interpreter, stdlib and pip) goes into the local base image too. */
  base: { official: string; local: { commands: string[]; python?: string } };
  install?: InstallStep;
  /** The docker runtime: the repository's own Dockerfile is the template (server/builder/dockerfile/build.ts). */
  repositoryDockerfile?: boolean;
  /** A compiled runtime: the repository is built into one binary in the sandbox first (server/builder/go/). */
  compile?: 'go';
}

export function loadBuildpacks(root: string): Map<string, Buildpack> {
  const packs = new Map<string, Buildpack>();
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    const dir = path.join(root, entry.name);
    const manifestFile = path.join(dir, 'buildpack.json');
    if (!entry.isDirectory() || !fs.existsSync(manifestFile)) continue;
    const spec = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Omit<Buildpack, 'dir' | 'template'>;
    const template = spec.repositoryDockerfile ? '' : fs.readFileSync(path.join(dir, 'Dockerfile.template'), 'utf8');
    packs.set(spec.runtime, { ...spec, dir, template });
  }
  return packs;
}
