// The Docker implementation of Engine's image operations: exists, import a rootfs, build from a context directory
// (watching what a repository's build writes), remove what a build left; builds and removals pass the image gate.
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { create as createTar } from 'tar';
import { LambdaError } from '../errors.js';
import type { BuildRequest, BuildWatch, Engine } from '../instances/engine.js';
import { LABELS } from '../instances/labels.js';
import { removeContainer, statusOf } from './containers.js';
import { imageGateOf } from './image-gate.js';

interface BuildMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

export function dockerImages(docker: Docker): Pick<Engine, 'imageExists' | 'importImage' | 'buildImage'> & Required<Pick<Engine, 'inspectImage' | 'pruneBuild'>> {
  // Removing images while a build reads the cache fails that build: see image-gate.ts.
  const gate = imageGateOf(docker);
  /** The engine's view of an image; undefined when there is none. */
  const inspect = async (tag: string): Promise<Docker.ImageInspectInfo | undefined> => {
    try {
      return await docker.getImage(tag).inspect();
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new LambdaError('LAMBDA_ERR_ENGINE_UNAVAILABLE', { detail: (error as Error).message });
    }
  };
  return {
    async inspectImage(tag) {
      const info = await inspect(tag);
      return info && { id: info.Id, layers: info.RootFS.Layers ?? [], sizeBytes: info.Size, volumes: Object.keys(info.Config.Volumes ?? {}), labels: info.Config.Labels ?? {} };
    },

    imageExists: async (tag) => (await inspect(tag)) !== undefined,

    async importImage(rootfs: Readable, tag: string) {
      const [repo, version] = splitTag(tag);
      const stream = await docker.importImage(rootfs as unknown as string, { repo, tag: version });
      await follow(docker, stream, () => {});
    },

    buildImage: (request, onLine) =>
      gate.build(async () => {
        // The gate keeps this server's removals away; another program using the engine (a second installation, an
        // operator's `docker image prune`) can still remove an image during the cache lookup, which changes nothing
        // of what the build would make: it is built again, a bounded number of times.
        for (let attempt = 1; ; attempt++) {
          try {
            return await buildOnce(docker, request, onLine);
          } catch (error) {
            if (attempt > CACHE_RACE_RETRIES || !isCacheRace(error)) throw error;
            onLine(`an image was removed while the engine read its build cache: building again (${attempt}/${CACHE_RACE_RETRIES})`);
          }
        }
      }),

    pruneBuild: (key, value) => gate.remove(() => pruneLabelled(docker, key, value)),
  };
}

/** How many times a build the cache lookup failed is tried again. */
const CACHE_RACE_RETRIES = 2;

/**
 * The classic builder's own failure when a child of a step's parent disappears while it looks for the step's cache:
 * exactly that engine message, nothing a RUN step can print (a failed step's error starts with its command).
 */
export function isCacheRace(error: unknown): boolean {
  return error instanceof LambdaError && error.code === 'LAMBDA_ERR_BUILD_FAILED' && /^unable to find image "sha256:[0-9a-f]{64}"$/.test(String(error.details.detail ?? ''));
}

/** One engine build of `request` (the caller holds the image gate). */
async function buildOnce(docker: Docker, request: BuildRequest, onLine: (line: string) => void): Promise<void> {
  const context = createTar({ cwd: request.contextDir, portable: true }, ['.']);
  // A repository's own RUN steps get a memory limit, one CPU and a deadline; closing the request cancels the build.
  // Their processes count against a cgroup whose pids.max the server set, and no file may outgrow the code size
  // (an fsize limit binds root too): the classic builder offers no pids limit of its own. What the steps write in
  // all is watched while they run, since many files each under the fsize limit could otherwise fill the disk
  // before the image is ever checked.
  const limits = request.limits;
  const controller = new AbortController();
  let cancelled: string | undefined;
  const cancel = (why: string) => {
    cancelled ??= why;
    controller.abort();
  };
  const deadline = limits ? setTimeout(() => cancel(`the image build took longer than ${Math.round(limits.timeoutMs / 1000)} s`), limits.timeoutMs) : undefined;
  const watch = limits?.written ? await watchWrites(docker, limits.written, (written) => cancel(overWritten(written, limits.written as BuildWatch))) : undefined;
  const bounds = limits
    ? {
        memory: limits.memoryBytes,
        memswap: limits.memoryBytes,
        cpuperiod: 100_000,
        cpuquota: 100_000,
        abortSignal: controller.signal,
        ...(limits.pidsCgroup ? { cgroupparent: limits.pidsCgroup } : {}),
        ...(limits.maxFileBytes ? { ulimits: JSON.stringify([{ Name: 'fsize', Soft: limits.maxFileBytes, Hard: limits.maxFileBytes }]) } : {}),
      }
    : {};
  const steps = stepSummary(onLine, instructionsOf(request.contextDir));
  const transcript: string[] = [];
  try {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
        t: request.tag,
        rm: true,
        forcerm: true,
        // Dependencies are installed before the build (server/builder/install/install.ts): no build ever gets a network.
        networkmode: 'none',
        labels: { [LABELS.managed]: 'true' },
        ...bounds,
      });
    } catch (error) {
      if (cancelled) throw new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail: cancelled });
      throw new LambdaError('LAMBDA_ERR_ENGINE_UNAVAILABLE', { detail: (error as Error).message });
    }
    try {
      await follow(docker, stream, (line) => {
        if (transcript.length < 2000) transcript.push(line);
        steps.line(line);
      });
      if (cancelled) throw new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail: cancelled });
    } catch (error) {
      if (!(error instanceof LambdaError)) throw error;
      steps.end();
      const detail = cancelled ?? String(error.details.detail ?? '');
      throw new LambdaError('LAMBDA_ERR_BUILD_FAILED', { detail }, { detail, logs: [...transcript, detail] });
    }
    steps.end();
  } finally {
    clearTimeout(deadline);
    await watch?.stop();
    // A cancelled build may still have its step container: the engine stops it on its own time.
    if (cancelled && limits?.written) await removeStepContainers(docker, limits.written);
  }
}

/** Removes what a build left under label `key=value` (the caller holds the image gate); returns the bytes freed. */
async function pruneLabelled(docker: Docker, key: string, value: string): Promise<number> {
  const tagged = (image: Docker.ImageInfo) => (image.RepoTags ?? []).some((tag) => tag !== '<none>:<none>');
  const sizes = ownSizes(docker);
  let freed = 0;
  // Each pass removes the candidates no other candidate builds on; a chain of n steps takes n passes.
  for (let pass = 0; pass < 500; pass++) {
    const images = await labelledImages(docker, key, value);
    const byId = new Map(images.map((image) => [image.Id, image]));
    sizes.note(images);
    const kept = new Set<string>();
    for (const image of images.filter(tagged)) {
      for (let at: Docker.ImageInfo | undefined = image; at && !kept.has(at.Id); at = byId.get(at.ParentId)) kept.add(at.Id);
    }
    const parents = new Set(images.map((image) => image.ParentId));
    const leaves = images.filter((image) => !kept.has(image.Id) && !parents.has(image.Id));
    if (leaves.length === 0) break;
    let removed = 0;
    for (const leaf of leaves) {
      const own = await sizes.own(leaf);
      try {
        // noprune: an untagged parent outside the label (never one here) is not the build's to remove.
        await docker.getImage(leaf.Id).remove({ noprune: true });
        freed += own;
        removed += 1;
      } catch (error) {
        // 409: a container (a step cut short) still uses it; it is tried again on the function's next build.
        const status = statusOf(error);
        if (status !== 404 && status !== 409) throw new LambdaError('LAMBDA_ERR_ENGINE_UNAVAILABLE', { detail: (error as Error).message });
      }
    }
    if (removed === 0) break;
  }
  return freed;
}

/**
 * The instructions of the Dockerfile the server wrote into `contextDir` (one a line): what step lines may say. The
 * build's output mixes the engine's framing with whatever RUN steps print, so it only ever tells which step is
 * running; what a step is comes from here.
 */
function instructionsOf(contextDir: string): string[] {
  let text = '';
  try {
    text = fs.readFileSync(path.join(contextDir, 'Dockerfile'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * Turns the classic builder's chatter (`Step 4/8 : …`, ` ---> Using cache`, ` ---> 3f2a…`, `Removing intermediate
 * container …`) into one line per step, e.g. `[4/8] COPY code/ /var/task/ (cached)`, told once the step is over.
 * A header counts only when it is the next step and names that step's instruction exactly, and the line shown is the
 * server's own text: a RUN printing `Step 7/7 : …` cannot make up a step, only at most announce the real next one
 * early. `(cached)` is the engine's line right after a header (a cached step runs nothing that could print).
 */
export function stepSummary(onLine: (line: string) => void, instructions: string[]): { line(text: string): void; end(): void } {
  let current: { step: number; cached: boolean } | undefined;
  let next = 1;
  let justStarted = false;
  const flush = () => {
    if (current) onLine(`[${current.step}/${instructions.length}] ${instructions[current.step - 1]}${current.cached ? ' (cached)' : ''}`);
    current = undefined;
  };
  return {
    line(text) {
      const step = /^Step (\d+)\/\d+ : (.*)$/.exec(text);
      if (step && Number(step[1]) === next && step[2].trim() === instructions[next - 1]) {
        flush();
        current = { step: next, cached: false };
        next += 1;
        justStarted = true;
        return;
      }
      if (current && justStarted && text === ' ---> Using cache') current.cached = true;
      justStarted = false;
    },
    end: flush,
  };
}

/** Why a build that wrote `written` bytes is cancelled. */
export function overWritten(written: number, watch: BuildWatch): string {
  const mib = (bytes: number) => Math.ceil(bytes / 1024 / 1024);
  return `the build was cancelled while building: its steps wrote ${mib(written)} MiB, over this server's maximum code size of ${mib(watch.maxBytes)} MiB (LAMBDA_MAX_CODE_SIZE)`;
}

/**
 * Watches a build by its label, about once a second, until stopped: the images it made (those not there when it
 * started, each counted by what it adds to its parent) and its running step containers (what they wrote so far).
 * The platform's own containers carry `lambda.server` (an instance of the function inherits the label too) and are
 * not the build's. A step container that has exited is counted once its image is: not twice while it is committed.
 */
export async function watchWrites(docker: Docker, watch: BuildWatch, over: (written: number) => void, everyMs = 1000): Promise<{ stop(): Promise<void> }> {
  const images = () => labelledImages(docker, watch.key, watch.value);
  const before = new Set(
    (
      await images().catch((error: Error) => {
        throw new LambdaError('LAMBDA_ERR_ENGINE_UNAVAILABLE', { detail: error.message });
      })
    ).map((image) => image.Id),
  );
  const sizes = ownSizes(docker);
  const written = async (): Promise<number> => {
    const listed = await images();
    sizes.note(listed);
    let total = 0;
    for (const image of listed.filter((image) => !before.has(image.Id))) total += await sizes.own(image);
    const steps = await docker.listContainers({ size: true, filters: { label: [`${watch.key}=${watch.value}`], status: ['running'] } });
    for (const step of steps) if (isStep(step, watch)) total += (step as { SizeRw?: number }).SizeRw ?? 0;
    return total;
  };
  let stopped = false;
  let overBefore = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, everyMs).unref();
      });
      if (stopped) return;
      // An engine that does not answer a poll fails the build some other way; the watch goes on, and the poll it
      // missed counts neither way (a build over at the poll before is still over at the one after).
      const total = await written().catch(() => undefined);
      if (total === undefined) continue;
      // Written bytes never shrink, but the engine can misreport a step container caught mid-start (its whole image
      // as its own writes, seen under load): a build is cancelled only when two polls in a row find it over.
      if (total > watch.maxBytes && overBefore) {
        over(total);
        return;
      }
      overBefore = total > watch.maxBytes;
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}

/** Removes the step containers a cancelled build left (the engine removes them too, in its own time). */
async function removeStepContainers(docker: Docker, watch: BuildWatch): Promise<void> {
  const label = `${watch.key}=${watch.value}`;
  for (let attempt = 0; attempt < 40; attempt++) {
    const left = (await docker.listContainers({ all: true, filters: { label: [label] } }).catch(() => [])).filter((step) => isStep(step, watch));
    if (left.length === 0) return;
    for (const step of left) await removeContainer(docker, step.Id).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The images carrying label `key=value` (checked again here, not only by the engine's filter). */
async function labelledImages(docker: Docker, key: string, value: string): Promise<Docker.ImageInfo[]> {
  return (await docker.listImages({ all: true, filters: { label: [`${key}=${value}`] } })).filter((image) => image.Labels?.[key] === value);
}

/**
 * What each image adds to its parent: sizes as listed (`note`), a parent not listed inspected once. A parent the
 * engine does not answer for this time counts the image as adding nothing until a later poll learns the parent's
 * size: counting the whole image (the base's 100 MiB and more) would cancel a small build on a busy engine.
 */
function ownSizes(docker: Docker): { note(images: Docker.ImageInfo[]): void; own(image: Docker.ImageInfo): Promise<number> } {
  const sizes = new Map<string, number>();
  const sizeOf = async (id: string): Promise<number | undefined> => {
    if (!sizes.has(id)) {
      const size = await docker.getImage(id).inspect().then((info) => info.Size, () => undefined);
      if (size === undefined) return undefined;
      sizes.set(id, size);
    }
    return sizes.get(id);
  };
  return {
    note(images) {
      for (const image of images) sizes.set(image.Id, image.Size);
    },
    async own(image) {
      if (!image.ParentId) return image.Size;
      const parent = await sizeOf(image.ParentId);
      return parent === undefined ? 0 : Math.max(0, image.Size - parent);
    },
  };
}

/** A build's step container: it carries the build label and, unlike the platform's own containers, no `lambda.server`. */
function isStep(container: Docker.ContainerInfo, watch: BuildWatch): boolean {
  return container.Labels?.[watch.key] === watch.value && !container.Labels?.[LABELS.server];
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
