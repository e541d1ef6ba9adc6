// One container's life on the engine: started with its secret on stdin, watched until it ends (and why), removed
// by force. Instances, cells, install sandboxes and file readers all go through these.
import type Docker from 'dockerode';
import type { InstanceClients } from '../instances/requests/client.js';

/**
 * Removes a container and its anonymous volumes, running or not. 404 (already gone) and 409 (another removal of the
 * same container is under way) are what the caller wanted anyway; anything else is thrown.
 */
export async function removeContainer(docker: Docker, id: string): Promise<void> {
  await docker.getContainer(id).remove({ force: true, v: true }).catch(unlessGoneOrBusy);
}

/** The HTTP status the engine answered a failed call with (undefined when it did not answer). */
export function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** Rethrows an engine failure unless it is 404 (the container is gone) or 409 (already in that state, or being removed). */
export function unlessGoneOrBusy(error: unknown): void {
  const status = statusOf(error);
  if (status !== 404 && status !== 409) throw error;
}

/** Removes every container `filters` finds (best effort: the engine's failures are left for the next pass). */
export async function removeContainersWhere(docker: Docker, filters: { label: string[] }): Promise<Docker.ContainerInfo[]> {
  const found = await docker.listContainers({ all: true, filters });
  await Promise.all(found.map((c) => removeContainer(docker, c.Id).catch(() => {})));
  return found;
}

/**
 * The instance secret reaches the program as the first line of its stdin, never through its environment: an
 * environment variable stays readable in /proc/<pid>/environ whatever the program removes later. The engine keeps
 * stdin open until the host has attached and written the line, then closes it (StdinOnce), so nothing started
 * later can read it there either.
 */
export function withSecretStdin(config: Docker.ContainerCreateOptions): Docker.ContainerCreateOptions {
  return { ...config, OpenStdin: true, StdinOnce: true, AttachStdin: true, Tty: false };
}

/** Starts a container made with withSecretStdin: attach first (so no byte is lost), start, write the secret, close stdin. */
export async function startWithSecret(container: Docker.Container, secret: string): Promise<void> {
  const stdin = (await container.attach({ stream: true, hijack: true, stdin: true, stdout: false, stderr: false })) as NodeJS.ReadWriteStream & { destroy?: () => void };
  try {
    await container.start();
    await new Promise<void>((resolve, reject) => {
      stdin.once('error', reject);
      stdin.end(`${secret}\n`, () => resolve());
    });
  } catch (error) {
    stdin.destroy?.();
    throw error;
  }
  // The engine closes the attach once stdin is closed; the host never needs it again.
  stdin.resume();
  stdin.on('error', () => {});
  setTimeout(() => stdin.destroy?.(), 10_000).unref();
}

/**
 * Watches an instance's (or a cell's) container until its process ends: the host's connections to it fail at once,
 * then `ended` hears why (`disappeared` when the engine lost the container). Resolves with the same reason.
 */
export function watchExit(container: Docker.Container, id: string, clients: Pick<InstanceClients, 'gone'>, ended: (reason: string) => void): Promise<string> {
  return container.wait().then(
    (result: { StatusCode: number }) => exitReason(container, result.StatusCode),
    () => 'disappeared',
  ).then((reason) => {
    clients.gone(id, `the instance ${reason}`);
    ended(reason);
    return reason;
  });
}

/** Why an instance's process ended, for the operator's log: Docker's state tells an OOM kill from any other exit. */
export async function exitReason(container: Docker.Container, status: number): Promise<string> {
  if (await oomKilled(container, status)) return 'was killed for using more than its memory limit (OOM)';
  // Docker 20.10 on cgroup v2 does not always record an OOM kill: a SIGKILL nobody here sent is most likely one.
  if (status === 137) return 'was killed (SIGKILL, status 137), most likely for using more than its memory limit';
  return `exited with status ${status}`;
}

/** Docker's state says whether the kernel killed it for its memory; the engine may record that just after the exit. */
async function oomKilled(container: Docker.Container, status: number): Promise<boolean> {
  for (let attempt = 0; attempt < (status === 137 ? 5 : 1); attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    const killed = await container.inspect().then(
      (info) => info.State.OOMKilled,
      () => undefined,
    );
    if (killed !== false) return killed === true;
  }
  return false;
}

/** Whether a listed container still holds a process: a frozen one (paused between requests) is alive too. */
export function isAlive(container: Docker.ContainerInfo): boolean {
  return container.State === 'running' || container.State === 'paused';
}
