// Whether the manager's engine gives its containers no-new-privileges: a swarm service cannot ask for it on this
// engine (20.10), so each node's engine must set it for every container (`dockerd --no-new-privileges`).
import fs from 'node:fs';
import type Docker from 'dockerode';

/** The engine's flag the warning names. */
export const NO_NEW_PRIVILEGES_FLAG = '--no-new-privileges';

export const NO_NEW_PRIVILEGES_WARNING =
  `the swarm manager's engine runs containers without no-new-privileges: start every node's engine with \`dockerd ${NO_NEW_PRIVILEGES_FLAG}\` (a swarm service cannot ask for it)`;

/** The NoNewPrivs line of a /proc/<pid>/status text: true or false, undefined when there is none. */
export function noNewPrivsOf(status: string): boolean | undefined {
  const match = /^NoNewPrivs:\s*(\d)\s*$/m.exec(status);
  return match ? match[1] === '1' : undefined;
}

export interface PrivilegeCheck {
  /** Checks once a task of the platform's runs on the manager's engine; later calls do nothing. Never throws. */
  check(): Promise<void>;
}

/**
 * `docker info` does not say whether the engine sets no-new-privileges (its SecurityOptions leave it out), so the
 * check reads what one of the platform's task containers on the manager (a relay, or an instance placed there) runs
 * with, from /proc: the server runs on the manager, beside its engine. Until such a task runs there is nothing to
 * read; a process that cannot be read (another pid namespace) leaves the check silent.
 */
export function createPrivilegeCheck(docker: Docker, warn: (line: string) => void, readStatus = (pid: number) => fs.readFileSync(`/proc/${pid}/status`, 'utf8')): PrivilegeCheck {
  let done = false;
  let running: Promise<void> | undefined;
  const once = async (): Promise<void> => {
    const found = await docker.listContainers({ filters: { label: ['com.docker.swarm.service.name'] } });
    const ours = found.find((container) => (container.Labels['com.docker.swarm.service.name'] ?? '').startsWith('lambda-'));
    if (!ours) return;
    const info = (await docker.getContainer(ours.Id).inspect()) as { State?: { Pid?: number } };
    const pid = info.State?.Pid ?? 0;
    if (pid <= 0) return;
    done = true;
    let status: string;
    try {
      status = readStatus(pid);
    } catch {
      return;
    }
    if (noNewPrivsOf(status) === false) warn(NO_NEW_PRIVILEGES_WARNING);
  };
  return {
    async check() {
      if (done) return;
      running ??= once()
        .catch(() => undefined)
        .finally(() => (running = undefined));
      await running;
    },
  };
}
