// Where a swarm cell goes and which versions have cells there, pure: a cell is pinned to the ready, active node
// holding the fewest of its function's cells and instances, and only a buildpack version whose start a cell can do
// is keyed (by its image: a cell on a swarm is one version's).
import type { InstanceSpec } from '../../instances/engine.js';
import type { CellSettings } from '../../instances/cells/image.js';

/** A node as the engine lists it (`GET /nodes`). */
export interface NodeEntry {
  ID: string;
  Spec?: { Role?: string; Availability?: string };
  Status?: { State?: string };
}

/** A service as listed, with what pins it to a node. */
export interface ServiceEntry {
  ID: string;
  Spec?: { TaskTemplate?: { Placement?: { Constraints?: string[] } } };
}

/** A task as listed. */
export interface TaskEntry {
  ServiceID?: string;
  NodeID?: string;
  Status?: { State?: string };
}

const ENDED = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);
const PINNED = /^node\.id\s*==\s*(\S+)$/;

/** The node each of a function's services holds a place on: its pin (a cell), else the node of its live task (an instance). */
export function functionLoad(services: ServiceEntry[], tasks: TaskEntry[]): Map<string, number> {
  const load = new Map<string, number>();
  const add = (node: string) => load.set(node, (load.get(node) ?? 0) + 1);
  for (const service of services) {
    const pin = (service.Spec?.TaskTemplate?.Placement?.Constraints ?? []).map((rule) => PINNED.exec(rule)?.[1]).find(Boolean);
    if (pin) {
      add(pin);
      continue;
    }
    const task = tasks.find((each) => each.ServiceID === service.ID && each.NodeID && !ENDED.has(each.Status?.State ?? ''));
    if (task?.NodeID) add(task.NodeID);
  }
  return load;
}

/**
 * Among the nodes that are ready and active, the one with the least load (ties: a worker before a manager, whose
 * cores the control plane uses, then by id so the choice is stable); undefined when no node can take a task.
 */
export function chooseNode(nodes: NodeEntry[], load: Map<string, number>): string | undefined {
  const usable = nodes.filter((node) => node.Status?.State === 'ready' && (node.Spec?.Availability ?? 'active') === 'active');
  const rank = (node: NodeEntry): [number, number, string] => [load.get(node.ID) ?? 0, node.Spec?.Role === 'manager' ? 1 : 0, node.ID];
  usable.sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2].localeCompare(y[2]);
  });
  return usable[0]?.ID;
}

/**
 * The key of the cells that can start `spec`: its image, when its runtime has cells (a recipe) and none of its
 * variables is one its runtime reads only at process start (a cell's process started before it knew them);
 * undefined otherwise (a `docker`-runtime or go version, or such a variable): it starts classically.
 */
export function cellKey(spec: Pick<InstanceSpec, 'image' | 'runtime' | 'env'>, recipes: Array<{ runtime: string; settings: Pick<CellSettings, 'startupEnv'> }>): string | undefined {
  const recipe = recipes.find((each) => each.runtime === spec.runtime);
  if (!recipe) return undefined;
  if (Object.keys(spec.env).some((name) => recipe.settings.startupEnv.test(name))) return undefined;
  return spec.image;
}
