// The CLI's version: package.json's, found from this file whether it runs from cli/ (tsx) or dist/cli/ (built).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `version` of the nearest package.json above this file, or "unknown" when there is none. */
export function cliVersion(start = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const version = readVersion(join(dir, 'package.json'));
    if (version !== undefined) return version;
    if (dir === dirname(dir)) return 'unknown';
  }
}

function readVersion(file: string): string | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
    return typeof parsed.version === 'string' ? parsed.version : undefined;
  } catch {
    return undefined;
  }
}
