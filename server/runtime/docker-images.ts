// The Docker implementation of Runtime's image operations: exists, import a rootfs, build from a context directory.
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { create as createTar } from 'tar';
import { LambdaError } from '../errors.js';
import type { BuildRequest, Runtime } from './types.js';

interface BuildMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

export function dockerImages(docker: Docker): Pick<Runtime, 'imageExists' | 'importImage' | 'buildImage'> & Required<Pick<Runtime, 'inspectImage'>> {
  return {
    async inspectImage(tag) {
      try {
        const info = await docker.getImage(tag).inspect();
        return { id: info.Id, layers: info.RootFS.Layers ?? [], sizeBytes: info.Size, volumes: Object.keys(info.Config.Volumes ?? {}) };
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return undefined;
        throw new LambdaError('LAMBDA_ERR_ENGINE_UNAVAILABLE', { detail: (error as Error).message });
      }
    },

    async imageExists(tag) {
      try {
        await docker.getImage(tag).inspect();
        return true;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return false;
        throw new LambdaError('LAMBDA_ERR_ENGINE_UNAVAILABLE', { detail: (error as Error).message });
      }
    },

    async importImage(rootfs: Readable, tag: string) {
      const [repo, version] = splitTag(tag);
      const stream = await docker.importImage(rootfs as unknown as string, { repo, tag: version });
      await follow(docker, stream, () => {});
    },

    async buildImage(request: BuildRequest, onLine: (line: string) => void) {
      const context = createTar({ cwd: request.contextDir, portable: true }, ['.']);
      // A repository's own RUN steps get a memory limit, one CPU and a deadline; closing the request cancels the build.
      // Their processes count against a cgroup whose pids.max the server set, and no file may outgrow the code size
      // (an fsize limit binds root too): the classic builder offers no pids limit of its own.
      const limits = request.limits;
      const signal = limits ? AbortSignal.timeout(limits.timeoutMs) : undefined;
      const bounds = limits
        ? {
            memory: limits.memoryBytes,
            memswap: limits.memoryBytes,
            cpuperiod: 100_000,
            cpuquota: 100_000,
            abortSignal: signal,
            ...(limits.pidsCgroup ? { cgroupparent: limits.pidsCgroup } : {}),
            ...(limits.maxFileBytes ? { ulimits: JSON.stringify([{ Name: 'fsize', Soft: limits.maxFileBytes, Hard: limits.maxFileBytes }]) } : {}),
          }
        : {};
      let stream: NodeJS.ReadableStream;
      try {
        stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
          t: request.tag,
          rm: true,
          forcerm: true,
          // Dependencies are installed before the build (server/build/install.ts): no build ever gets a network.
          networkmode: 'none',
          labels: { 'lambda.managed': 'true' },
          ...bounds,
        });
      } catch (error) {
        if (signal?.aborted && limits) throw new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail: `the image build took longer than ${Math.round(limits.timeoutMs / 1000)} s` });
        throw new LambdaError('LAMBDA_ERR_ENGINE_UNAVAILABLE', { detail: (error as Error).message });
      }
      const steps = stepSummary(onLine);
      const transcript: string[] = [];
      /** Images the steps made (` ---> 3f2a…`), the first being the base's. */
      const made: string[] = [];
      try {
        await follow(docker, stream, (line) => {
          if (transcript.length < 2000) transcript.push(line);
          const id = /^ ---> ([0-9a-f]{12})$/.exec(line)?.[1];
          if (id) made.push(id);
          steps.line(line);
        });
      } catch (error) {
        if (!(error instanceof LambdaError)) throw error;
        steps.end();
        // A failed repository build leaves no layers behind (a step before the failing one may have written much).
        if (limits) await removeUntagged(docker, made.slice(1).reverse());
        const detail = signal?.aborted && limits ? `the image build took longer than ${Math.round(limits.timeoutMs / 1000)} s` : String(error.details.detail ?? '');
        throw new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail }, { detail, logs: [...transcript, detail] });
      }
      steps.end();
    },
  };
}

/**
 * Turns the classic builder's chatter (`Step 4/8 : …`, ` ---> Using cache`, ` ---> 3f2a…`, `Removing intermediate
 * container …`) into one line per step, e.g. `[4/8] COPY code/ /var/task/ (cached)`, told once the step is over.
 */
export function stepSummary(onLine: (line: string) => void): { line(text: string): void; end(): void } {
  let current: { step: string; text: string; cached: boolean } | undefined;
  const flush = () => {
    if (current) onLine(`[${current.step}] ${current.text}${current.cached ? ' (cached)' : ''}`);
    current = undefined;
  };
  return {
    line(text) {
      const step = /^Step (\d+\/\d+) : (.*)$/.exec(text);
      if (step) {
        flush();
        current = { step: step[1], text: step[2], cached: false };
      } else if (current && /^ ---> Using cache$/.test(text)) {
        current.cached = true;
      }
    },
    end: flush,
  };
}

/**
 * Removes the untagged step images of a failed build, newest first. One that is tagged (a base) or that another
 * image builds on (a cache shared with an earlier build) is kept: the engine refuses to remove it.
 */
async function removeUntagged(docker: Docker, ids: string[]): Promise<void> {
  for (const id of ids) {
    const info = await docker
      .getImage(id)
      .inspect()
      .catch(() => undefined);
    if (!info || (info.RepoTags ?? []).length > 0) continue;
    await docker
      .getImage(info.Id)
      .remove({ noprune: true })
      .catch(() => {});
  }
}

function splitTag(tag: string): [string, string] {
  const colon = tag.lastIndexOf(':');
  return colon > tag.lastIndexOf('/') ? [tag.slice(0, colon), tag.slice(colon + 1)] : [tag, 'latest'];
}

async function follow(docker: Docker, stream: NodeJS.ReadableStream, onLine: (line: string) => void): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, messages: BuildMessage[]) => {
        const failed = error?.message ?? messages.find((m) => m.error)?.error;
        if (failed) reject(new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail: failed.trim() }, { detail: failed.trim() }));
        else resolve();
      },
      (message: BuildMessage) => {
        const text = message.stream ?? message.status ?? '';
        for (const line of text.split('\n')) if (line.trim() !== '') onLine(line.trimEnd());
      },
    );
  });
}
