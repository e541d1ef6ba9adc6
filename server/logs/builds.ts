// Each deploy's output, one file per deploy under `<fn>/builds/`, the last few kept: what `lambda logs N --build` shows.
import fs from 'node:fs';
import path from 'node:path';
import { asLambdaError } from '../errors.js';
import type { Progress } from './progress.js';
import { errorLines, progressLine } from './progress-text.js';
import { encodeLine } from './format.js';

export interface BuildLimits {
  /** Deploys whose output is kept per function (the newest). */
  builds: number;
  /** Bytes one deploy's output may take; the rest is cut with a marker. */
  buildBytes: number;
}

/** Deploy output kept: the last 10 deploys of a function, 1 MiB each (a fixed bound, not a setting). */
export const BUILD_LIMITS: BuildLimits = { builds: 10, buildBytes: 1024 * 1024 };

/** A deploy being recorded: its progress goes to the caller and to the file; `end` adds the outcome and closes it. */
export interface BuildRecording {
  progress: Progress;
  end(error?: unknown): void;
}

const FILE = /^(\d{13})-([0-9a-f]{12})\.log$/;

export function buildsDir(fnDir: string): string {
  return path.join(fnDir, 'builds');
}

/** Starts recording a deploy of commit `sha`. Never throws: a deploy does not fail because its log cannot be written. */
export function recordBuild(fnDir: string, sha: string, limits: BuildLimits, progress: Progress, warn: (line: string) => void): BuildRecording {
  const short = sha.slice(0, 12);
  const dir = buildsDir(fnDir);
  let fd: number | undefined;
  let written = 0;
  let cut = false;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fd = fs.openSync(path.join(dir, `${String(Date.now()).padStart(13, '0')}-${short}.log`), 'wx', 0o600);
    prune(dir, limits.builds);
  } catch (error) {
    warn(`cannot keep the deploy output in ${dir}: ${(error as Error).message}`);
  }
  const write = (text: string) => {
    if (fd === undefined || cut) return;
    let line = encodeLine({ time: Date.now(), stream: 'build', instance: short, version: null, text });
    if (written + Buffer.byteLength(line) > limits.buildBytes) {
      cut = true;
      line = encodeLine({ time: Date.now(), stream: 'build', instance: short, version: null, text: '[lambda] the rest of this output was not kept (over the size limit)' });
    }
    try {
      written += fs.writeSync(fd, line);
    } catch {
      cut = true;
    }
  };
  return {
    progress(event) {
      write(progressLine(event).text);
      progress(event);
    },
    end(error) {
      if (error !== undefined) for (const line of errorLines(asLambdaError(error))) write(line.text);
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    },
  };
}

/** The newest kept deploy output (of commit `sha` when given), or undefined. */
export function latestBuild(fnDir: string, sha?: string): string | undefined {
  const short = sha?.slice(0, 12);
  const names = listBuilds(buildsDir(fnDir)).filter((name) => short === undefined || FILE.exec(name)?.[2] === short);
  const newest = names.at(-1);
  return newest === undefined ? undefined : path.join(buildsDir(fnDir), newest);
}

function listBuilds(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((name) => FILE.test(name))
      .sort();
  } catch {
    return [];
  }
}

function prune(dir: string, keep: number): void {
  const names = listBuilds(dir);
  for (const name of names.slice(0, Math.max(0, names.length - keep))) fs.rmSync(path.join(dir, name), { force: true });
}
