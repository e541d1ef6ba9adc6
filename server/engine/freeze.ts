// Freezing an idle instance (Docker's pause, the cgroup freezer), as AWS Lambda freezes an environment between
// invocations: a handler's timers and background work do not run on while nobody called it. Also when an
// instance's process ended, which tells a request that never reached it from one that crashed it.
import type Docker from 'dockerode';
import type { Engine } from '../instances/engine.js';
import { LABELS, ownFilter } from '../instances/labels.js';
import { unlessGoneOrBusy } from './containers.js';
import { InstanceFailure } from '../instances/requests/failure.js';

/** `serverId`: containers are looked up by this server's label too, never by an instance id alone. */
export function dockerFreeze(docker: Docker, serverId: string): Pick<Engine, 'freeze' | 'thaw' | 'endedAt'> {
  const containerIds = new Map<string, string>();
  const containerOf = async (instanceId: string): Promise<Docker.Container | undefined> => {
    let id = containerIds.get(instanceId);
    if (!id) {
      const [found] = await docker.listContainers({ all: true, filters: ownFilter(serverId, `${LABELS.instance}=${instanceId}`) });
      if (!found) return undefined;
      id = found.Id;
      containerIds.set(instanceId, id);
    }
    return docker.getContainer(id);
  };
  return {
    async freeze(instance) {
      await (await containerOf(instance.id))?.pause().catch(unlessGoneOrBusy);
    },
    async endedAt(instance) {
      const container = await containerOf(instance.id);
      // The engine records the end a moment after the connections drop: look a few times.
      for (let attempt = 0; container && attempt < 10; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20));
        const state = await container.inspect().then(
          (info) => info.State,
          () => undefined,
        );
        if (!state) return undefined;
        if (!state.Running || state.Dead) return Date.parse(state.FinishedAt);
      }
      return undefined;
    },
    async thaw(instance) {
      const container = await containerOf(instance.id);
      try {
        await container?.unpause();
      } catch (error) {
        // Not paused any more (killed while frozen) or gone: the instance cannot serve and the request never reached
        // it, so it goes to another instance.
        containerIds.delete(instance.id);
        throw new InstanceFailure('unreachable', `instance ${instance.id} could not be thawed: ${(error as Error).message}`, { cause: error });
      }
    },
  };
}
