// The kept installs (one tar per set of inputs, shared by every function with the same ones): bounded in count and
// in bytes, least recently used removed first.
import fs from 'node:fs';
import path from 'node:path';

const GIB = 1024 * 1024 * 1024;

/** A tar is at most the install's 768 MiB, so the bytes bound keeps at least the five most recently used. */
export const CACHE_BOUNDS = { entries: 64, bytes: 4 * GIB };

/** Marks a kept install as used now: the bound removes the least recently used first. */
export function touchCached(file: string): void {
  const now = new Date();
  fs.utimesSync(file, now, now);
}

/**
 * Removes kept installs beyond the bounds, least recently used first; `keep` (the install just made) stays whatever
 * its size. A function's delete leaves its installs to this bound: another function may use the same one.
 */
export function pruneCache(cacheDir: string, keep: string, bounds = CACHE_BOUNDS): void {
  const entries = fs
    .readdirSync(cacheDir)
    .filter((name) => name.endsWith('.tar'))
    .flatMap((name) => {
      const file = path.join(cacheDir, name);
      const stat = fs.statSync(file, { throwIfNoEntry: false });
      return stat ? [{ file, used: stat.mtimeMs, bytes: stat.size }] : [];
    })
    .sort((a, b) => Number(b.file === keep) - Number(a.file === keep) || b.used - a.used);
  let count = 0;
  let bytes = 0;
  let over = false;
  for (const entry of entries) {
    count += 1;
    bytes += entry.bytes;
    // Strictly by use: once a bound is passed, every older install goes, small or not.
    over ||= count > bounds.entries || bytes > bounds.bytes;
    if (over && entry.file !== keep) fs.rmSync(entry.file, { force: true });
  }
}
