// The cgroup whose pids.max bounds the processes of one repository Dockerfile build (the build API has no pids limit).
import fs from 'node:fs';
import path from 'node:path';

const ROOT = '/sys/fs/cgroup';
/** The folder every build's own cgroup sits in; it has no limit of its own, so no build can use up another's. */
const PARENT = 'lambda-build';
const NAME = /^[A-Za-z0-9_-]{1,100}$/;

export interface BuildCgroup {
  /** The cgroup parent to give the engine for the build's steps, e.g. /lambda-build/<server>-<build>. */
  parent: string;
  /** Removes the cgroup (and the folders the engine made beside it under other controllers); never throws. */
  remove(): void;
}

/**
 * Makes `/lambda-build/<name>` (name: the server's id and the build's) with pids.max set to `max` (cgroup v1 or v2,
 * the engine's cgroupfs driver) for one build's steps: each build gets the whole limit, and one build's processes
 * never count against another's, of this server or of another on the same machine. Throws, saying why, when the
 * server may not write there.
 */
export function buildPidsCgroup(max: number, name: string, root = ROOT): BuildCgroup {
  if (!NAME.test(name)) throw new Error(`cannot bound the build's processes (the cgroup name ${JSON.stringify(name.slice(0, 80))} is not letters, digits, '_' or '-')`);
  const v2 = fs.existsSync(path.join(root, 'cgroup.controllers'));
  const parentDir = v2 ? path.join(root, PARENT) : path.join(root, 'pids', PARENT);
  const dir = path.join(parentDir, name);
  try {
    if (v2) {
      enablePids(root);
      fs.mkdirSync(parentDir, { recursive: true });
      enablePids(parentDir);
    }
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'pids.max'), String(max));
  } catch (error) {
    throw new Error(`cannot bound the build's processes (${dir}: ${(error as Error).message})`);
  }
  return {
    parent: `/${PARENT}/${name}`,
    remove() {
      // Under v1 the engine makes the same path under every controller it uses; each is an empty folder by now,
      // unless a step cut short (a build past its deadline) is still being stopped: then a few tries later.
      let left = v2 ? [dir] : controllers(root).map((controller) => path.join(root, controller, PARENT, name));
      const attempt = (): void => {
        left = left.filter((each) => {
          try {
            fs.rmdirSync(each);
            return false;
          } catch (error) {
            return (error as NodeJS.ErrnoException).code !== 'ENOENT';
          }
        });
      };
      attempt();
      for (const delay of [2_000, 10_000, 60_000]) setTimeout(() => left.length > 0 && attempt(), delay).unref();
    },
  };
}

function enablePids(dir: string): void {
  const enabled = fs.readFileSync(path.join(dir, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
  if (!enabled.includes('pids')) fs.writeFileSync(path.join(dir, 'cgroup.subtree_control'), '+pids');
}

function controllers(root: string): string[] {
  try {
    return fs.readdirSync(root).filter((entry) => fs.existsSync(path.join(root, entry, PARENT)));
  } catch {
    return [];
  }
}
