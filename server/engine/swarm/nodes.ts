// The swarm's nodes as `lambda nodes` shows them: the swarm's own view of each (role, state, availability, engine),
// with how many of this server's instances and cells run there.
import type Docker from 'dockerode';
import { LABELS, ownFilter } from '../../instances/labels.js';
import type { NodeInfo } from '../../instances/engine.js';

/** What the swarm says of a node (`docker node ls`), as far as it is read here. */
export interface SwarmNodeRecord {
  ID: string;
  Spec?: { Role?: string; Availability?: string };
  Description?: { Hostname?: string; Engine?: { EngineVersion?: string } };
  Status?: { State?: string };
}

export interface SwarmServiceRecord {
  ID: string;
  Spec?: { Labels?: Record<string, string> };
}

export interface SwarmTaskRecord {
  ServiceID?: string;
  NodeID?: string;
  Status?: { State?: string };
}

/**
 * One row per node, managers first, then by host name. A service of this server's is a cell (`lambda.cell`) until
 * it became an instance (`became`, given its instance id: its labels, an instance's too, cannot change), else an
 * instance (`lambda.managed` true); its task counts on its node while it runs, as the swarm last heard (a task on a
 * node that went down reads running until the server removes its service).
 */
export function nodeRows(nodes: SwarmNodeRecord[], services: SwarmServiceRecord[], tasks: SwarmTaskRecord[], became: (id: string) => boolean = () => false): NodeInfo[] {
  const kind = new Map<string, 'instances' | 'cells'>();
  for (const service of services) {
    const labels = service.Spec?.Labels ?? {};
    if (labels[LABELS.cell] !== undefined) kind.set(service.ID, became(labels[LABELS.instance] ?? '') ? 'instances' : 'cells');
    else if (labels[LABELS.managed] === 'true') kind.set(service.ID, 'instances');
  }
  const rows = new Map<string, NodeInfo>(
    nodes.map((node) => [
      node.ID,
      {
        id: node.ID,
        hostname: node.Description?.Hostname ?? '',
        role: node.Spec?.Role === 'manager' ? 'manager' : 'worker',
        state: node.Status?.State ?? 'unknown',
        availability: node.Spec?.Availability ?? 'unknown',
        engineVersion: node.Description?.Engine?.EngineVersion ?? '',
        instances: 0,
        cells: 0,
      },
    ]),
  );
  for (const task of tasks) {
    const which = kind.get(task.ServiceID ?? '');
    const row = rows.get(task.NodeID ?? '');
    if (which && row && task.Status?.State === 'running') row[which] += 1;
  }
  return [...rows.values()].sort((a, b) => (a.role === b.role ? a.hostname.localeCompare(b.hostname) : a.role === 'manager' ? -1 : 1));
}

/** The swarm's nodes through its manager's engine, with this server's instances and cells on each (`became`: see nodeRows). */
export async function swarmNodes(docker: Docker, serverId: string, became?: (id: string) => boolean): Promise<NodeInfo[]> {
  const [nodes, services, tasks] = await Promise.all([
    docker.listNodes() as Promise<SwarmNodeRecord[]>,
    docker.listServices({ filters: ownFilter(serverId) }) as Promise<SwarmServiceRecord[]>,
    docker.listTasks({ filters: { 'desired-state': ['running'] } }) as Promise<SwarmTaskRecord[]>,
  ]);
  return nodeRows(nodes, services, tasks, became);
}
