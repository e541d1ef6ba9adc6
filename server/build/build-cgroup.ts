// The cgroup whose pids.max bounds the processes of repository Dockerfile builds (the build API has no pids limit).
import fs from 'node:fs';
import path from 'node:path';

const ROOT = '/sys/fs/cgroup';

/**
 * Makes `/lambda-build-pids-<max>` with pids.max set to `max` (cgroup v1 or v2, the engine's cgroupfs driver) and
 * returns it as a cgroup parent for build steps. Builds with the same setting share it: together they never run more
 * than `max` processes. Throws, saying why, when the server may not write there.
 */
export function buildPidsCgroup(max: number, root = ROOT): string {
  const name = `lambda-build-pids-${max}`;
  const v2 = fs.existsSync(path.join(root, 'cgroup.controllers'));
  const dir = v2 ? path.join(root, name) : path.join(root, 'pids', name);
  try {
    if (v2) {
      const enabled = fs.readFileSync(path.join(root, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
      if (!enabled.includes('pids')) fs.writeFileSync(path.join(root, 'cgroup.subtree_control'), '+pids');
    }
    fs.mkdirSync(dir, { recursive: true });
    if (fs.readFileSync(path.join(dir, 'pids.max'), 'utf8').trim() !== String(max)) fs.writeFileSync(path.join(dir, 'pids.max'), String(max));
  } catch (error) {
    throw new Error(`cannot bound the build's processes (${dir}: ${(error as Error).message})`);
  }
  return `/${name}`;
}
