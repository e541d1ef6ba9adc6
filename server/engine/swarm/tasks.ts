// Which instances' tasks still run: one poll of the swarm's tasks for all of them, telling the host when one ends
// (its process exited, it was killed, its node left) and when.
import type Docker from 'dockerode';

const ENDED = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);
const POLL_MS = 1_000;
/** Why an instance ended when the swarm marked its node down: its connections are cut, not closed by its process. */
export const LOST_WITH_NODE = 'was lost with its node';

interface Task {
  ServiceID?: string;
  NodeID?: string;
  DesiredState?: string;
  Status?: { State?: string; Err?: string; Timestamp?: string; ContainerStatus?: { ExitCode?: number } };
}

/**
 * The swarm's heartbeat: its manager marks a node down after three missed ones. Its default, 5 s, marks it down ~15 s
 * after it left, past a function's default 10 s timeout, so the requests on it would end as timeouts; at 1 s it is
 * 3–4 s, for one small call a second from each worker.
 */
export const HEARTBEAT_MS = 1_000;

interface SwarmInfo {
  Version: { Index: number };
  Spec: { Dispatcher?: { HeartbeatPeriod?: number } } & Record<string, unknown>;
}

/** Sets the swarm's heartbeat to HEARTBEAT_MS unless it is that or shorter (an operator's choice); true when it changed it. */
export async function shortenHeartbeat(docker: Docker): Promise<boolean> {
  const swarm = (await docker.swarmInspect()) as SwarmInfo;
  const periodNs = HEARTBEAT_MS * 1_000_000;
  if ((swarm.Spec.Dispatcher?.HeartbeatPeriod ?? 5_000_000_000) <= periodNs) return false;
  await docker.swarmUpdate({ _query: { version: swarm.Version.Index }, _body: { ...swarm.Spec, Dispatcher: { ...swarm.Spec.Dispatcher, HeartbeatPeriod: periodNs } } });
  return true;
}

export interface TaskWatch {
  /** Watches the service of instance `id`; `ended` hears why once its task has ended. */
  watch(serviceId: string, id: string, ended: (reason: string) => void): void;
  unwatch(id: string): void;
  /** When the instance's task ended (ms since the epoch), undefined while it runs or is unknown. */
  endedAt(id: string): number | undefined;
  /** Whether the instance's task runs now (one poll). */
  running(serviceId: string): Promise<boolean>;
}

/** Why a task ended, for the operator's log. */
export function endReason(task: Task): string {
  const state = task.Status?.State ?? 'unknown';
  const code = task.Status?.ContainerStatus?.ExitCode;
  if (state === 'orphaned') return LOST_WITH_NODE;
  if (code === 137) return 'was killed (SIGKILL, status 137), most likely for using more than its memory limit';
  if (code !== undefined && code !== 0) return `exited with status ${code}`;
  return `ended (${state}${task.Status?.Err ? `: ${task.Status.Err}` : ''})`;
}

export function createTaskWatch(docker: Docker): TaskWatch {
  const watched = new Map<string, { id: string; ended: (reason: string) => void; at?: number; seen?: boolean }>();
  const byInstance = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;

  const poll = async (): Promise<void> => {
    timer = undefined;
    const [tasks, nodes] = await Promise.all([
      docker.listTasks().catch(() => undefined) as Promise<Task[] | undefined>,
      docker.listNodes().catch(() => undefined) as Promise<Array<{ ID: string; Status?: { State?: string } }> | undefined>,
    ]);
    // A task on a node the swarm has marked down still reads `running`: its instance is lost with the node.
    const down = new Set((nodes ?? []).filter((node) => node.Status?.State === 'down').map((node) => node.ID));
    if (tasks) {
      for (const [serviceId, entry] of watched) {
        if (entry.at !== undefined) continue;
        const own = tasks.filter((task) => task.ServiceID === serviceId);
        // A service removed behind the server's back takes its tasks with it.
        if (own.length === 0 && entry.seen) {
          entry.at = Date.now();
          entry.ended('was removed from the swarm');
          continue;
        }
        entry.seen ||= own.length > 0;
        // One replica, never restarted: its one task's end is the instance's.
        const done = own.find((task) => ENDED.has(task.Status?.State ?? '')) ?? own.find((task) => down.has(task.NodeID ?? ''));
        if (done && !own.some((task) => !ENDED.has(task.Status?.State ?? '') && !down.has(task.NodeID ?? ''))) {
          const lost = !ENDED.has(done.Status?.State ?? '');
          // A task on a node that went down still carries the time it started running: its end is now, when the swarm
          // says so. Requests sent before then count as delivered (a crash, 502), never as a retry on another instance:
          // the handler may have run them.
          entry.at = lost ? Date.now() : Date.parse(done.Status?.Timestamp ?? '') || Date.now();
          entry.ended(lost ? LOST_WITH_NODE : endReason(done));
        }
      }
    }
    schedule();
  };
  const schedule = (): void => {
    if (timer || ![...watched.values()].some((entry) => entry.at === undefined)) return;
    timer = setTimeout(() => void poll(), POLL_MS);
    timer.unref();
  };

  return {
    watch(serviceId, id, ended) {
      watched.set(serviceId, { id, ended });
      byInstance.set(id, serviceId);
      schedule();
    },
    unwatch(id) {
      const serviceId = byInstance.get(id);
      byInstance.delete(id);
      if (serviceId) watched.delete(serviceId);
    },
    endedAt(id) {
      const serviceId = byInstance.get(id);
      return serviceId ? watched.get(serviceId)?.at : undefined;
    },
    async running(serviceId) {
      const tasks = (await docker.listTasks({ filters: { service: [serviceId] } })) as Task[];
      return tasks.some((task) => task.Status?.State === 'running');
    },
  };
}
