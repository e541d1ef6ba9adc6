// Freezing an idle instance (Docker's pause, the cgroup freezer), as AWS Lambda freezes an environment between
// invocations: a handler's timers and background work do not run on while nobody called it.
import type Docker from 'dockerode';
import type { Runtime } from './types.js';

const INSTANCE_LABEL = 'lambda.instance';

export function dockerFreeze(docker: Docker): Pick<Runtime, 'freeze' | 'thaw'> {
  const containerIds = new Map<string, string>();
  const containerOf = async (instanceId: string): Promise<Docker.Container | undefined> => {
    let id = containerIds.get(instanceId);
    if (!id) {
      const [found] = await docker.listContainers({ all: true, filters: { label: [`${INSTANCE_LABEL}=${instanceId}`] } });
      if (!found) return undefined;
      id = found.Id;
      containerIds.set(instanceId, id);
    }
    return docker.getContainer(id);
  };
  // 404: gone; 409: already in that state, or being removed.
  const tolerated = (error: unknown) => {
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== 404 && status !== 409) throw error;
  };
  return {
    async freeze(instance) {
      await (await containerOf(instance.id))?.pause().catch(tolerated);
    },
    async thaw(instance) {
      const container = await containerOf(instance.id);
      try {
        await container?.unpause();
      } catch (error) {
        // Not paused any more (killed while frozen) or gone: the instance cannot serve; report it as refused,
        // so the request goes to another instance.
        containerIds.delete(instance.id);
        throw Object.assign(new Error(`instance ${instance.id} could not be thawed: ${(error as Error).message}`), { code: 'ECONNREFUSED' });
      }
    },
  };
}
