// The registry's bound: a version whose image leaves the manager's engine has its tag deleted from the write side
// (a failure kept in a small list and retried), and the space of what no tag names is given back by the registry's
// garbage collection, run by the server after every N deletions and daily, never while a push is under way.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { ImageGate } from '../image-gate.js';
import { REGISTRY_PROGRAM, deleteImage, garbageCollectArgs, registryFiles } from './registry.js';

/** The deletions that failed, to retry: one tag a line, in the registry's folder (it survives a restart). */
export const PENDING_FILE = 'deletions-to-retry';
/** The most deletions kept to retry: past it the oldest are dropped (and said), so a registry that stays away does not grow the list for ever. */
export const MAX_PENDING = 10_000;
/** How often a collection runs whatever the deletions. */
export const DAILY_MS = 24 * 60 * 60 * 1000;
/** How soon a collection that found a push under way (it went in beside builds after its wait) is tried again. */
const DEFERRED_MS = 60_000;
/** How long after the start deletions left to retry are tried: the server's first requests come first. */
const START_DELAY_MS = 5_000;
/** How long one collection may run; it holds every build and push back meanwhile. */
const COLLECT_TIMEOUT_MS = 10 * 60_000;

export interface RegistryUpkeepOptions {
  /** The write side, `host:port`, as this process reaches it. */
  push: string;
  /** The registry's folder: its storage, the sides' configuration and the deletions to retry. */
  dir: string;
  /** Deletions between two collections. */
  collectEvery: number;
  /** The engine's image gate, which every push shares; a collection holds it alone. */
  gate: ImageGate;
  /** Pushes under way: a collection let in beside builds after its wait must still not run beside one. */
  pushing(): number;
  /** Whether a tag is published now: a deletion to retry is dropped rather than remove the new copy. */
  known(tag: string): boolean;
  /**
   * The tags of repository `name` (`lambda-fn/<fn>`) the server still keeps: those the manager's engine still holds.
   * A manifest one of them names in the registry is never deleted.
   */
  kept(name: string): Promise<ReadonlySet<string>>;
  /** A manifest was deleted: whoever handed out `name@digest` must push again before naming it. */
  dropped?(name: string, digest: string): void;
  warn(line: string): void;
  /** Runs the garbage collection on the write side's configuration file (the registry's program, by default). */
  collect?(configFile: string): Promise<void>;
  /** Told after each collection that ran: versions were removed, which the nodes' engines may still hold. */
  collected?(): void;
  dailyMs?: number;
}

export interface RegistryUpkeep {
  /**
   * Deletes the tag's image (`lambda-fn/<name>:<sha>`) from the registry, unless a kept tag names the same manifest; a
   * failure, or a push under way, keeps it to retry. Called holding the image gate alone. Never throws.
   */
  deleted(tag: string): Promise<void>;
  /** The tag was pushed again: a deletion of it waiting to be retried is dropped. */
  pushed(tag: string): void;
  /** Retries the failed deletions, then runs the garbage collection; resolves false when a push was under way. */
  collect(): Promise<boolean>;
  close(): void;
}

export function createRegistryUpkeep(options: RegistryUpkeepOptions): RegistryUpkeep {
  const base = `http://${options.push}`;
  const pendingFile = path.join(options.dir, PENDING_FILE);
  const runCollection = options.collect ?? collectGarbage;
  let since = 0;
  let running: Promise<boolean> | undefined;
  let deferred: NodeJS.Timeout | undefined;

  const readPending = (): string[] => {
    try {
      return fs.readFileSync(pendingFile, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  const writePending = (tags: string[]): void => {
    const unique = [...new Set(tags)];
    const dropped = unique.length - MAX_PENDING;
    if (dropped > 0) options.warn(`the registry: ${dropped} deletion(s) to retry dropped, past ${MAX_PENDING} kept; their images stay until removed by hand`);
    const kept = unique.slice(Math.max(0, dropped));
    try {
      fs.mkdirSync(options.dir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(`${pendingFile}.new`, kept.map((tag) => `${tag}\n`).join(''), { mode: 0o600 });
      fs.renameSync(`${pendingFile}.new`, pendingFile);
    } catch (error) {
      options.warn(`the registry: the deletions to retry could not be kept: ${(error as Error).message}`);
    }
  };

  /** One deletion; true when it is done (deleted now, not there, or its manifest is a kept tag's too). */
  const remove = async (tag: string): Promise<boolean> => {
    // A push that ends between the listing of the tags and the DELETE could put a kept tag on the manifest deleted.
    // The caller holds the gate, so no push starts meanwhile; one let in before is waited out by keeping the tag to
    // retry, which runs with no push under way.
    if (options.pushing() > 0) return false;
    const colon = tag.lastIndexOf(':');
    const name = tag.slice(0, colon);
    try {
      const kept = await options.kept(name);
      const deletion = await deleteImage(base, name, tag.slice(colon + 1), (other) => kept.has(other) || options.known(`${name}:${other}`));
      if (deletion.keptBy) options.warn(`the registry: ${tag} names the same image as ${name}:${deletion.keptBy}, which is kept; it goes with that one`);
      if (deletion.deleted && deletion.digest) {
        since += 1;
        options.dropped?.(name, deletion.digest);
      }
      return true;
    } catch (error) {
      options.warn(`the registry: deleting ${tag} failed (${(error as Error).message}); it is tried again later`);
      return false;
    }
  };

  const retryPending = async (): Promise<void> => {
    const pending = readPending();
    if (pending.length === 0) return;
    const left: string[] = [];
    for (const tag of pending) {
      if (options.known(tag)) continue;
      if (!(await remove(tag))) left.push(tag);
    }
    // Deletions that failed meanwhile were added to the file: keep them too.
    const added = readPending().filter((tag) => !pending.includes(tag));
    writePending([...left, ...added]);
  };

  const collect = (): Promise<boolean> => {
    running ??= options.gate
      .remove(async () => {
        // The gate lets a removal in beside builds that outlast its wait; a push among them must not lose its upload.
        if (options.pushing() > 0) return false;
        await retryPending();
        since = 0;
        await runCollection(registryFiles(options.dir).write);
        return true;
      })
      .then(
        (done) => {
          // Once the gate is let go: what follows may push.
          if (done) options.collected?.();
          if (!done) {
            clearTimeout(deferred);
            deferred = setTimeout(() => void collect(), DEFERRED_MS).unref();
          }
          return done;
        },
        (error: unknown) => {
          options.warn(`the registry's garbage collection failed: ${(error as Error).message}; it runs again after the next deletions or in a day`);
          return false;
        },
      )
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const daily = setInterval(() => void collect(), options.dailyMs ?? DAILY_MS);
  daily.unref();
  // Deletions a stopped server left to retry are tried soon after its start, not a day later.
  const atStart = readPending().length > 0 ? setTimeout(() => void collect(), START_DELAY_MS).unref() : undefined;

  return {
    async deleted(tag) {
      if (!(await remove(tag))) writePending([...readPending(), tag]);
      if (since >= options.collectEvery) void collect();
    },
    pushed(tag) {
      const pending = readPending();
      if (pending.includes(tag)) writePending(pending.filter((each) => each !== tag));
    },
    collect,
    close() {
      clearInterval(daily);
      clearTimeout(atStart);
      clearTimeout(deferred);
    },
  };
}

/** `docker-registry garbage-collect --delete-untagged` on the write side's file; its output is the blobs it marks, so only the end of its errors is kept. */
export function collectGarbage(configFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(REGISTRY_PROGRAM, garbageCollectArgs(configFile), { stdio: ['ignore', 'ignore', 'pipe'], timeout: COLLECT_TIMEOUT_MS });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => {
      errors = (errors + chunk.toString()).slice(-2000);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${REGISTRY_PROGRAM} garbage-collect ended with ${signal ?? code}: ${errors.trim().split('\n').pop() ?? ''}`))));
  });
}
