// Makes sure a buildpack's base image exists: the configured image, or one assembled from this machine's programs.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { create as createTar } from 'tar';
import type { Engine } from '../../instances/engine.js';
import type { Buildpack } from '../buildpacks.js';
import { assembleRootfs, describeCommands } from './rootfs.js';
import { addPython, describePython, hostPython } from './rootfs-python.js';

/** "local" builds the base from this host; any other value names an image to use as it is. */
export type BaseImageSetting = 'local' | 'official' | string;

export async function ensureBaseImage(
  engine: Pick<Engine, 'imageExists' | 'importImage'>,
  pack: Buildpack,
  setting: BaseImageSetting,
  workDir: string,
  onLine: (line: string) => void,
): Promise<string> {
  if (setting === 'official') return pack.base.official;
  if (setting !== 'local') return setting;
  const python = pack.base.local.python ? hostPython(pack.base.local.python) : undefined;
  const recipe = describeCommands(pack.base.local.commands) + (python ? `,${describePython(python)}` : '');
  const tag = `lambda/base-${pack.runtime}:${createHash('sha256').update(recipe).digest('hex').slice(0, 12)}`;
  if (await engine.imageExists(tag)) return tag;
  const programs = [...pack.base.local.commands, ...(python ? [`python ${python.version}`] : [])];
  onLine(`Assembling base image ${tag} from this machine's ${programs.join(', ')}`);
  const stage = path.join(workDir, `rootfs-${pack.runtime}-${process.pid}`);
  try {
    assembleRootfs(pack.base.local.commands, stage);
    if (python) addPython(python, stage);
    await engine.importImage(Readable.from(createTar({ cwd: stage }, fs.readdirSync(stage))), tag);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
  return tag;
}
