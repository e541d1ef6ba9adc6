// Builds the image of one commit: base image, dependencies (installed in a sandbox), build context, engine build.
// Core reaches it through Builder.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LambdaError } from '../errors.js';
import type { BuildRequest, Engine, Sandbox } from '../instances/engine.js';
import type { Buildpack } from './buildpacks.js';
import { ensureBaseImage, type BaseImageSetting } from './base/base-image.js';
import { ensureInstallImage } from './base/install-image.js';
import { needsInstall, prepareContext } from './context.js';
import { buildLog, type BuildLog } from './log.js';
import { installDependencies } from './install/install.js';
import { hostRegistrySettings, type RegistrySettings } from './install/registry-settings.js';
import { cleanLine } from './clean-text.js';
import { checkDockerfile, refusal, writeCanonical } from './dockerfile/build.js';
import { finalBase } from './dockerfile/canonical.js';
import { LABELS } from '../instances/labels.js';
import { buildPidsCgroup, type BuildCgroup } from './cgroup.js';
import { buildGoVersion, forgetGoFunction } from './go/build.js';

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
  /**
   * Builds `input.tag`. `onLine` gets short, clean lines (one per step); when a step fails its whole output comes
   * as `warn` lines before the error. Throws LAMBDA_ERR_RUNTIME_UNSUPPORTED, LAMBDA_ERR_BUILD_FAILED,
   * LAMBDA_ERR_ENGINE_UNAVAILABLE.
   */
  build(input: BuildInput, onLine: (line: string, level?: 'warn') => void): Promise<void>;
  /** Drops what the builder keeps for a deleted function (a Go build cache). */
  forget?(fn: string): void;
}

export interface BuilderOptions {
  engine: Engine;
  /** Runs dependency installs: no code from a pushed repository runs on the host or with its network. */
  sandbox: Sandbox;
  buildpacks: Map<string, Buildpack>;
  baseImages: Record<string, BaseImageSetting>;
  workDir: string;
  /**
   * Bounds of a repository's own Dockerfile build (runtime docker): its RUN steps are the repository's code. `pids`:
   * processes each such build may run (0: none set); `maxCodeBytes`: what the image may add to its base,
   * and the largest file a step may write.
   */
  repositoryBuild?: { memoryBytes: number; timeoutMs: number; pids?: number; maxCodeBytes?: number };
  /** This installation's id: with the function's name it labels a repository build's images (LABELS.build). */
  serverId?: string;
}

export function createBuilder(options: BuilderOptions): Builder {
  const { engine: engine, buildpacks, workDir } = options;
  const serverId = options.serverId ?? 'local';
  fs.mkdirSync(workDir, { recursive: true });
  const cacheDir = path.join(workDir, '.dependencies');
  // The host's registry settings are read once, on the first install of each buildpack.
  const registries = new Map<string, Promise<RegistrySettings>>();
  const registryOf = (pack: Buildpack & { install: NonNullable<Buildpack['install']> }) => {
    let settings = registries.get(pack.runtime);
    if (!settings) {
      settings = hostRegistrySettings(pack.install.registry);
      registries.set(pack.runtime, settings);
    }
    return settings;
  };

  /** The runtime's base image, made or pulled on first use as this server is configured. */
  const baseImageOf = (pack: Buildpack, log: BuildLog): Promise<string> => ensureBaseImage(engine, pack, options.baseImages[pack.runtime] ?? 'local', workDir, log.detail);

  /** Runs `work` on a fresh folder holding the commit's files in `code/`; the folder goes whatever happens. */
  const withCheckout = async (input: BuildInput, work: (dir: string, code: string) => Promise<void>): Promise<void> => {
    const dir = fs.mkdtempSync(path.join(workDir, `${input.fn}-${input.sha.slice(0, 12)}-`));
    try {
      const code = path.join(dir, 'code');
      fs.mkdirSync(code);
      await input.exportTo(code);
      await work(dir, code);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  /**
   * runtime docker: the commit's own Dockerfile, checked and rewritten (FROM the platform's base images by id only),
   * built with no network, bounded memory, CPU, processes, file size and time; the image is checked before use.
   */
  const buildRepository = async (input: BuildInput, log: BuildLog): Promise<void> => {
    const bounds = options.repositoryBuild ?? { memoryBytes: 1024 * 1024 * 1024, timeoutMs: 10 * 60_000 };
    const maxCodeBytes = bounds.maxCodeBytes ?? 250 * 1024 * 1024;
    await withCheckout(input, async (_dir, code) => {
      const bases = [...buildpacks.values()].filter((pack) => !pack.repositoryDockerfile && !pack.compile);
      const parsed = checkDockerfile(code, bases.map((pack) => pack.runtime));
      const ensure = (name: string) => baseImageOf(buildpacks.get(name) as Buildpack, log);
      const froms = parsed.stages.map(({ base }) => (base.kind === 'runtime' ? `lambda/${base.runtime}` : base.kind === 'scratch' ? 'scratch' : `stage ${base.index}`));
      log.detail(`Dockerfile checked (${parsed.stages.length} stage${parsed.stages.length === 1 ? '' : 's'}): FROM ${froms.join(', FROM ')}`);
      const label = `${serverId}/${input.fn}`;
      const baseFacts = await writeCanonical(engine, { runtimes: bases.map((pack) => pack.runtime), ensure }, parsed, code, label);
      const cgroup = bounds.pids ? pidsCgroupOf(bounds.pids, log) : undefined;
      // Whatever happens, the images of earlier stages and of failed steps go; what they held counts as code.
      // A failed build's own error is the one told (a prune that fails then is tried again after the next build).
      let failure: unknown;
      try {
        await buildImage(engine, input.tag, code, log, { memoryBytes: bounds.memoryBytes, timeoutMs: bounds.timeoutMs, maxFileBytes: maxCodeBytes, written: { key: LABELS.build, value: label, maxBytes: maxCodeBytes }, ...(cgroup ? { pidsCgroup: cgroup.parent } : {}) });
      } catch (error) {
        failure = error ?? new Error('the build failed');
      }
      cgroup?.remove();
      const pruned = engine.pruneBuild?.(LABELS.build, label);
      if (failure) {
        await pruned?.catch(() => 0);
        throw failure;
      }
      const others = (await pruned) ?? 0;
      const built = await engine.inspectImage?.(input.tag);
      const base = finalBase(parsed);
      const why = built ? refusal(built, base ? baseFacts[base] : undefined, maxCodeBytes, { others, label }) : 'the engine reported no image';
      if (why) {
        await engine.removeImage(input.tag).catch(() => {});
        await engine.pruneBuild?.(LABELS.build, label).catch(() => 0);
        throw new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail: why });
      }
    });
  };

  /**
   * The build's own pids cgroup, or none with a warning in the build's output: a server that may not write
   * /sys/fs/cgroup (not root) still builds, bounded by memory, one CPU, file size and time, rather than refusing
   * every Dockerfile push.
   */
  const pidsCgroupOf = (max: number, log: BuildLog): BuildCgroup | undefined => {
    try {
      return buildPidsCgroup(max, `${serverId}-${randomBytes(6).toString('hex')}`);
    } catch (error) {
      log.warn(`${(error as Error).message}: this build runs without a process limit (run the server as root to bound it, or set LAMBDA_DOCKER_BUILD_PIDS=0)`);
      return undefined;
    }
  };

  return {
    runtimes: () => [...buildpacks.keys()],
    forget: (fn) => forgetGoFunction(workDir, fn),

    async build(input, onLine) {
      const pack = buildpacks.get(input.runtime);
      if (!pack) {
        throw new LambdaError('LAMBDA_ERR_RUNTIME_UNSUPPORTED', { runtime: input.runtime, available: [...buildpacks.keys()].join(', ') });
      }
      const log = buildLog(onLine);
      if (pack.repositoryDockerfile) {
        await buildRepository(input, log);
        return;
      }
      if (pack.compile === 'go') {
        const { sandbox } = options;
        await buildGoVersion({ engine, sandbox, pack, workDir, ...input, buildImage: (tag, dir) => buildImage(engine, tag, dir, log) }, log);
        return;
      }
      const base = await baseImageOf(pack, log);
      await withCheckout(input, async (dir, code) => {
        let dependencies: string | undefined;
        const install = pack.install;
        if (needsInstall(install, code)) {
          const withInstall = { ...pack, install };
          const registry = await registryOf(withInstall);
          const sandbox = options.sandbox;
          const installImage = await ensureInstallImage(engine, pack, options.baseImages[pack.runtime] ?? 'local', base, workDir, log.detail);
          ({ archive: dependencies } = await installDependencies({ sandbox, pack: withInstall, baseImage: base, installImage, registry, codeDir: code, workDir, cacheDir, fn: input.fn }, log));
        }
        prepareContext(pack, base, dir, dependencies);
        await buildImage(engine, input.tag, dir, log);
      });
    },
  };
}

/** The engine build: one line per step; on failure its whole output as warnings, and an error with clean text. */
async function buildImage(engine: Engine, tag: string, contextDir: string, log: BuildLog, limits?: BuildRequest['limits']): Promise<void> {
  try {
    await engine.buildImage({ tag, contextDir, ...(limits ? { limits } : {}) }, log.detail);
  } catch (error) {
    if (!(error instanceof LambdaError) || error.code !== 'LAMBDA_ERR_BUILD_FAILED') throw error;
    const logs = error.details.logs;
    if (Array.isArray(logs)) for (const line of logs) log.warn(String(line));
    throw new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail: cleanLine(String(error.details.detail ?? error.message)) });
  }
}
