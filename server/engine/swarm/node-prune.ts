// The bound on each node's images: every node's engine keeps each version it pulled from the registry until told
// otherwise, so after each registry collection and daily the server runs the pruner (pruner/main.go) once on every
// node, as a swarm global job, with the digests of the versions it still keeps; the job's service is removed after.
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { LABELS, ownFilter } from '../../instances/labels.js';
import type { ImageGate } from '../image-gate.js';

/** Where the node's engine socket is mounted inside the job's task. */
export const TASK_SOCKET = '/run/engine.sock';
/** The most references one run removes on a node; what is left goes in the next run. */
export const MOST_PER_RUN = 100;
/** The pruner's own time limit on a node. */
export const RUN_TIMEOUT_S = 60;
/** How long the server waits for every node's task to end before it removes the job anyway. */
export const JOB_WAIT_MS = 120_000;
/** The most digests a job is given (the service's spec carries them): past it no run is made, and the server says so. */
export const MAX_KEEP = 5_000;
/** How soon a run that left something (an image still in use, or past MOST_PER_RUN) is made again, at most FOLLOW_UPS times. */
export const FOLLOW_UP_MS = 60_000;
const FOLLOW_UPS = 3;
/** How often a run is made whatever the collections. */
const DAILY_MS = 24 * 60 * 60 * 1000;
const POLL_MS = 500;
const ENDED = new Set(['complete', 'failed', 'rejected', 'shutdown', 'orphaned', 'remove']);
const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** A version's image on the manager's engine, as the builder tags it. */
const VERSION_TAG = /^lambda-fn\/[^/:]+:[^/:]+$/;

export interface NodePruneOptions {
  /** The swarm manager's engine. */
  docker: Docker;
  serverId: string;
  /** The registry's read side, `host:port`: the functions' images on every node are named under `<pull>/lambda-fn/`. */
  pull: string;
  /** The engine's socket as each node has it; `{{.Node.ID}}` in it is the swarm's template for the node's id. */
  socket: string;
  /** The engine's image gate: a run holds it alone, so no version is pushed (and pulled by a node) between the keep list and the run. */
  gate: ImageGate;
  /** Pushes under way: a run let in beside builds after its wait must not miss a version being pushed. */
  pushing(): number;
  /** The pruner's image on the read side, by digest (built and pushed once). */
  image(): Promise<string>;
  /** A line for the server's log: each node's summary, a failure. */
  log(line: string): void;
  dailyMs?: number;
  followUpMs?: number;
}

export interface NodePrune {
  /** One run on every node; resolves false when none was made (a push under way, too many digests, a failure). Never throws. */
  run(): Promise<boolean>;
  close(): void;
}

interface Task {
  NodeID?: string;
  Status?: { State?: string; Err?: string; ContainerStatus?: { ExitCode?: number } };
}

interface Node {
  ID: string;
  Description?: { Hostname?: string };
  Spec?: { Availability?: string };
  Status?: { State?: string };
}

/** The digests of every version whose image the manager's engine still has: what every node keeps. */
export function keepList(images: Array<Pick<Docker.ImageInfo, 'RepoTags' | 'RepoDigests'>>): string[] {
  const keep = new Set<string>();
  for (const image of images) {
    if (!(image.RepoTags ?? []).some((tag) => VERSION_TAG.test(tag))) continue;
    for (const reference of image.RepoDigests ?? []) {
      const digest = reference.slice(reference.lastIndexOf('@') + 1);
      if (DIGEST.test(digest)) keep.add(digest);
    }
  }
  return [...keep].sort();
}

export interface PrunerJob {
  name: string;
  serverId: string;
  /** The pruner's image, by digest. */
  image: string;
  pull: string;
  socket: string;
  keep: string[];
}

/**
 * The job's service: one task on every node, run once. It mounts the node's engine socket (what it is for) and has
 * nothing else: no network attached, read-only, no capabilities, small memory and pids, never restarted.
 */
export function prunerService(job: PrunerJob): Record<string, unknown> {
  const labels = { [LABELS.server]: job.serverId, [LABELS.nodePrune]: 'true' };
  return {
    Name: job.name,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: job.image,
        Labels: labels,
        Args: ['-repository', `${job.pull}/lambda-fn/`, '-socket', TASK_SOCKET, '-most', String(MOST_PER_RUN), '-timeout', `${RUN_TIMEOUT_S}s`, ...job.keep],
        // The socket is root's; root with no capability can use it and nothing else of the node's.
        User: '0:0',
        ReadOnly: true,
        CapabilityDrop: ['ALL'],
        Mounts: [{ Type: 'bind', Source: job.socket, Target: TASK_SOCKET }],
      },
      Resources: { Limits: { MemoryBytes: 32 * 1024 * 1024, NanoCPUs: 500_000_000, Pids: 32 } },
      RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
      Networks: [],
    },
    Mode: { GlobalJob: {} },
  };
}

/** The nodes that get a task: ready and active (a paused or drained node takes none). */
export function eligibleNodes(nodes: Node[]): Node[] {
  return nodes.filter((node) => node.Status?.State === 'ready' && (node.Spec?.Availability ?? 'active') === 'active');
}

/** Whether the job has ended on every node that gets a task. */
export function jobDone(tasks: Task[], nodes: Node[]): boolean {
  const ended = new Set(tasks.filter((task) => ENDED.has(task.Status?.State ?? '')).map((task) => task.NodeID));
  return eligibleNodes(nodes).every((node) => ended.has(node.ID)) && tasks.every((task) => ENDED.has(task.Status?.State ?? ''));
}

/** The lines of a service's logs as the engine sends them without a terminal: frames of an 8-byte header and a payload. */
export function logLines(data: Buffer): string[] {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= data.length) {
    const size = data.readUInt32BE(at + 4);
    parts.push(data.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8').split('\n').filter(Boolean);
}

/**
 * A line of the job's logs asked for with `details`: the engine puts the task's context first
 * (`com.docker.swarm.node.id=…,com.docker.swarm.service.id=…,com.docker.swarm.task.id=… `), from which the node's name.
 */
export function fromNode(line: string, names: Map<string, string>): { node?: string; text: string } {
  const match = /^(\S*com\.docker\.swarm\.node\.id=[^,\s]+\S*) (.*)$/.exec(line);
  if (!match) return { text: line };
  const id = /com\.docker\.swarm\.node\.id=([^,\s]+)/.exec(match[1])?.[1] ?? '';
  return { node: names.get(id) ?? id, text: match[2] };
}

/** What a node's summary line says is still to do: references still in use, or beyond the run's bound. */
export function leftOver(line: string): number {
  const match = /in use (\d+),.* left for the next run (\d+)/.exec(line);
  return match ? Number(match[1]) + Number(match[2]) : 0;
}

export function createNodePrune(options: NodePruneOptions): NodePrune {
  const { docker } = options;
  let running: Promise<boolean> | undefined;
  let followUp: NodeJS.Timeout | undefined;
  let followUps = 0;

  /** Every job service of this server (one left by a run the server did not see end), removed. */
  const removeJobs = async (): Promise<void> => {
    const services = await docker.listServices({ filters: ownFilter(options.serverId, `${LABELS.nodePrune}=true`) });
    await Promise.all(services.map((service) => docker.getService(service.ID).remove().catch(() => {})));
  };

  /** Waits for the job's tasks to end (at most JOB_WAIT_MS); what was left on the nodes, or undefined when it did not end. */
  const waitForJob = async (serviceId: string): Promise<number | undefined> => {
    const deadline = Date.now() + JOB_WAIT_MS;
    while (Date.now() < deadline) {
      const [tasks, nodes] = await Promise.all([docker.listTasks({ filters: { service: [serviceId] } }) as Promise<Task[]>, docker.listNodes() as Promise<Node[]>]);
      // No task yet is no end, unless no node takes one (all paused or drained).
      if ((tasks.length > 0 || eligibleNodes(nodes).length === 0) && jobDone(tasks, nodes)) {
        const names = new Map(nodes.map((node) => [node.ID, node.Description?.Hostname ?? node.ID]));
        for (const task of tasks.filter((each) => each.Status?.State !== 'complete')) {
          options.log(`node pruning on ${names.get(task.NodeID ?? '') ?? 'a node'} ended ${task.Status?.State}: ${task.Status?.Err ?? `status ${task.Status?.ContainerStatus?.ExitCode}`}`);
        }
        // Without `follow` the engine's answer is whole: dockerode gives a Buffer (its types say a stream).
        const logs = await docker.getService(serviceId).logs({ stdout: true, stderr: true, follow: false, details: true });
        const lines = logLines(logs as unknown as Buffer).map((line) => fromNode(line, names));
        for (const line of lines.slice(0, 64)) options.log(`node pruning${line.node ? ` on ${line.node}` : ''}: ${line.text.slice(0, 300)}`);
        return lines.reduce((sum, line) => sum + leftOver(line.text), 0);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    options.log(`node pruning: not every node's task ended within ${JOB_WAIT_MS / 1000} s; the job is removed and runs again later`);
    return undefined;
  };

  const once = async (): Promise<{ made: boolean; left: number }> => {
    // Built and pushed before the gate is taken: a push shares it.
    const image = await options.image();
    return options.gate.remove(async () => {
      // The gate lets a removal in beside builds that outlast its wait: a version being pushed is not in the keep
      // list yet, and a node could pull it before the job reaches that node.
      if (options.pushing() > 0) return { made: false, left: 1 };
      await removeJobs();
      const keep = keepList(await docker.listImages());
      if (keep.length > MAX_KEEP) {
        options.log(`node pruning skipped: the server keeps ${keep.length} versions' images, more than the ${MAX_KEEP} a job is given`);
        return { made: false, left: 0 };
      }
      const name = `lambda-node-prune-${randomBytes(4).toString('hex')}`;
      const service = (await docker.createService(prunerService({ name, serverId: options.serverId, image, pull: options.pull, socket: options.socket, keep }))) as { id?: string; ID?: string };
      try {
        const left = await waitForJob(service.id ?? service.ID ?? name);
        return { made: left !== undefined, left: left ?? 1 };
      } finally {
        await docker.getService(service.id ?? service.ID ?? name).remove().catch(() => {});
      }
    });
  };

  const run = (): Promise<boolean> => {
    running ??= once()
      .then(
        ({ made, left }) => {
          clearTimeout(followUp);
          followUp = undefined;
          // An image a draining instance still used, or past the run's bound: tried again soon, a few times.
          if (left > 0 && followUps < FOLLOW_UPS) {
            followUps += 1;
            followUp = setTimeout(() => void run(), options.followUpMs ?? FOLLOW_UP_MS).unref();
          }
          return made;
        },
        (error: unknown) => {
          options.log(`node pruning failed: ${(error as Error).message}; it runs again after the next collection or in a day`);
          return false;
        },
      )
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  /** A run asked for by a collection or the day: its own follow-ups start again from none. */
  const fresh = (): Promise<boolean> => {
    followUps = 0;
    return run();
  };

  const daily = setInterval(() => void fresh(), options.dailyMs ?? DAILY_MS);
  daily.unref();
  return {
    run: fresh,
    close() {
      clearInterval(daily);
      clearTimeout(followUp);
    },
  };
}
