// Builds the image of one commit: base image, build context, engine build. Core reaches it through Builder.
import fs from 'node:fs';
import path from 'node:path';
import { LambdaError } from '../errors.js';
import type { Runtime } from '../runtime/types.js';
import type { Buildpack } from './buildpacks.js';
import { ensureBaseImage, type BaseImageSetting } from './base-image.js';
import { prepareContext } from './context.js';

export interface BuildInput {
  fn: string;
  sha: string;
  runtime: string;
  tag: string;
  /** Writes the commit's files into the given empty directory. */
  exportTo(dir: string): Promise<void>;
}

export interface Builder {
  runtimes(): string[];
  /** Builds `input.tag`; throws LAMBDA_ERR_RUNTIME_UNSUPPORTED or LAMBDA_ERR_BUILD_FAILED. */
  build(input: BuildInput, onLine: (line: string) => void): Promise<void>;
}

export interface BuilderOptions {
  runtime: Runtime;
  buildpacks: Map<string, Buildpack>;
  baseImages: Record<string, BaseImageSetting>;
  workDir: string;
}

export function createBuilder(options: BuilderOptions): Builder {
  const { runtime, buildpacks, workDir } = options;
  fs.mkdirSync(workDir, { recursive: true });
  return {
    runtimes: () => [...buildpacks.keys()],

    async build(input, onLine) {
      const pack = buildpacks.get(input.runtime);
      if (!pack) {
        throw new LambdaError('LAMBDA_ERR_RUNTIME_UNSUPPORTED', { runtime: input.runtime, available: [...buildpacks.keys()].join(', ') });
      }
      const base = await ensureBaseImage(runtime, pack, options.baseImages[pack.runtime] ?? 'local', workDir, onLine);
      const dir = fs.mkdtempSync(path.join(workDir, `${input.fn}-${input.sha.slice(0, 12)}-`));
      try {
        fs.mkdirSync(path.join(dir, 'code'));
        await input.exportTo(path.join(dir, 'code'));
        const { network } = prepareContext(pack, base, dir);
        await runtime.buildImage({ tag: input.tag, contextDir: dir, network }, onLine);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
