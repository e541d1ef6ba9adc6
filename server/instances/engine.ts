// The Engine interface: everything Lambda asks of a container engine. Docker implements it today, Swarm later.
import type { Readable } from 'node:stream';

/** Everything needed to start one instance of one version of a function. */
export interface InstanceSpec {
  fn: string;
  version: number;
  sha: string;
  image: string;
  handler: string;
  timeoutMs: number;
  memoryBytes: number;
  concurrency: number;
  /** Instances kept running even when idle. */
  minInstances: number;
  /** Instances at most; beyond, requests wait briefly, then 429. */
  maxInstances: number;
  /** An instance idle this long stops (down to minInstances); undefined: the server's default. */
  idleTimeoutMs?: number;
  env: Record<string, string>;
  /**
   * The runtime the version was built for (node20, python3, go, docker). Only a version a buildpack built runs in that
   * runtime's cells; a `docker`-runtime image (or one with none recorded) always starts as its own container.
   */
  runtime?: string;
  /** AWS_EXECUTION_ENV for the runtime, e.g. AWS_Lambda_nodejs20.x. */
  executionEnv?: string;
  /** `key`: public requests need an API token (checked by the gateway, before any instance); else public. */
  auth?: 'none' | 'key';
}

/** A running, healthy instance; the host listens on `socketPath` and the instance's shim dials in. */
export interface Instance {
  id: string;
  fn: string;
  sha: string;
  socketPath: string;
  /** How long its boot waited for a turn (ms; a classic start): a deploy's "healthy in" figure leaves it out. */
  bootWaitMs?: number;
}

/** A container the engine reports as ours (labelled), whatever its state. */
export interface ManagedContainer {
  instanceId: string;
  fn: string;
  sha: string;
  running: boolean;
  socketPath: string;
}

export interface BuildRequest {
  /** Image tag to produce, e.g. lambda-fn/greet:3f2c1a9b7e01. */
  tag: string;
  /** A directory holding the Dockerfile and everything it copies. Builds never get a network. */
  contextDir: string;
  /** Bounds for builds that run a repository's own steps (runtime docker): memory, one CPU, and a time limit. */
  limits?: { memoryBytes: number; timeoutMs: number; pidsCgroup?: string; maxFileBytes?: number; written?: BuildWatch };
}

/**
 * What a build may write while it runs: every stage starts with the label `key=value`, which its step containers
 * inherit, so the images and running step containers carrying it are the build's writes so far.
 */
export interface BuildWatch {
  key: string;
  value: string;
  maxBytes: number;
}

/** What a build is checked against once the engine made it: its layers, size and declared volumes. */
export interface ImageFacts {
  id: string;
  layers: string[];
  sizeBytes: number;
  volumes: string[];
  /** The labels of the image's config (containers made from it inherit them). */
  labels?: Record<string, string>;
}

/**
 * One throwaway run of an untrusted job (a dependency install) in a hardened container: no network, uid 10001,
 * every capability dropped, no-new-privileges, read-only root, pids/memory/CPU limits.
 */
export interface SandboxRun {
  image: string;
  command: string[];
  /** The whole environment of the command; nothing is inherited from the host. */
  env: Record<string, string>;
  workingDir: string;
  /** A host directory the platform wrote, mounted read-only at `inputMount`: the only host path the container sees. */
  inputDir: string;
  inputMount: string;
  /** Host folders of packages (the host's own local package indexes) mounted read-only at the same paths. */
  readOnlyMounts?: string[];
  /** The only writable paths: size-bounded tmpfs mounts (container path → bytes), gone when the run ends. */
  scratch: Record<string, number>;
  /** Scratch paths whose files may be run (a package's install builds and runs code there); the others are noexec. */
  runnable?: string[];
  /** Memory for the processes; the tmpfs sizes are added to the container's limit since their pages count there too. */
  memoryBytes: number;
  timeoutMs: number;
  /** Extra labels, e.g. what the run is for. */
  labels: Record<string, string>;
}

export interface SandboxResult {
  exitCode: number;
  /** True when the run was killed for taking longer than `timeoutMs`. */
  timedOut: boolean;
}

/** Runs untrusted jobs in throwaway containers. Throws LAMBDA_ERR_ENGINE_UNAVAILABLE when the engine fails. */
export interface Sandbox {
  /** Runs one job to its end, calling `onLine` with each line of its output (raw: callers clean it), and removes its container. */
  run(request: SandboxRun, onLine: (line: string) => void): Promise<SandboxResult>;
}

/**
 * Pre-started generic runtime containers ("cells") that Engine.start specialises for one version on first use, so
 * a cold start skips the container boot. A cell serves one version of one function for its whole life:
 * a used cell is removed, never returned. Bounded per runtime and refilled in the background.
 */
export interface CellPool {
  /** An instance of `spec` made from a ready cell; undefined when none is ready or the version cannot use one (start it classically). */
  start(spec: InstanceSpec): Promise<Instance | undefined>;
  /** Makes a version's files ready for cells ahead of its first cold start. Never throws. */
  prepare(spec: InstanceSpec): Promise<void>;
  /**
   * A cell of `spec`'s runtime is wanted ready for its function until `until` (ms since the epoch: a schedule's firing
   * ahead; the function's later reservation replaces its earlier one), and
   * the version's files are prepared, in the background; the pool grows within its budget. Never throws.
   */
  reserve(spec: InstanceSpec, until: number): void;
  /** Fills the pool and prepares these (live) versions one after another, in the background. */
  warm(specs: InstanceSpec[]): void;
  /** An instance stopped: drops what its cell kept (its task folder). Nothing for an instance that was no cell. */
  release(instanceId: string): void;
  /** Forgets what was prepared for an image tag (the image was removed). */
  forget(image: string): void;
  /** Removes a removed image's files kept for cells (its copy and staged link trees) unless another version uses them. */
  dropFiles?(imageId: string): Promise<void>;
  /**
   * Removes the cells an earlier server process left waiting (never adopted: they are no function's) and its
   * leftovers; a cell that had become an instance stays, listed by instances() for reconciliation. Returns how many.
   */
  reset(): Promise<number>;
  /** Containers that were cells and became instances, with the function and version they serve (for adoption). */
  instances(): Promise<ManagedContainer[]>;
  /** Starts filling the pool of each runtime in use (one a version was seen of) to its size in the background; it refills after each cell taken. */
  fill(): void;
  /** Ready and starting cells per runtime, and the size demand wants now. */
  status(): Record<string, { ready: number; starting: number; size: number }>;
  /** Stops filling and removes the cells not taken (instances made from cells are the instance pool's to stop). */
  shutdown(): Promise<void>;
}

/** One machine that runs instances: the local engine's own, or a member of the swarm. */
export interface NodeInfo {
  /** The engine's id for it (the swarm's node id; on one machine, the engine's own id). */
  id: string;
  hostname: string;
  role: 'manager' | 'worker';
  /** `ready`, or what the swarm says instead (`down`, `unknown`, `disconnected`). */
  state: string;
  /** Whether it takes new tasks: `active`, `pause` or `drain` (an operator's `docker node update`). */
  availability: string;
  engineVersion: string;
  /** This server's instances running there, and its cells. */
  instances: number;
  cells: number;
}

export interface Engine {
  /** The machines that run instances, with how many of this server's instances and cells each runs (both engines have it; optional for fakes). */
  nodes?(): Promise<NodeInfo[]>;
  /** True when the engine has this image. */
  imageExists(tag: string): Promise<boolean>;
  /** The image's id, layers, size and volumes; undefined when there is no such image. */
  inspectImage?(tag: string): Promise<ImageFacts | undefined>;
  /**
   * Removes an image no version uses (the build of a deploy that failed). Never throws for one already gone. `keep`
   * is asked once no build can use the image any more, just before anything of it goes: true leaves it all (a
   * prune whose version became live, or wanted, meanwhile).
   */
  removeImage(tag: string, keep?: () => boolean): Promise<void>;
  /**
   * Removes the images carrying label `key=value` that no tagged image among them builds on (what a build left: its
   * earlier stages, a failed build's steps), children first, and returns the bytes their own layers held.
   */
  pruneBuild?(key: string, value: string): Promise<number>;
  /** Pauses an idle instance's processes (nothing of it runs until thawed). */
  freeze(instance: Pick<Instance, 'id'>): Promise<void>;
  /** Resumes a frozen instance. */
  thaw(instance: Pick<Instance, 'id'>): Promise<void>;
  /** When the instance's process ended (ms since the epoch), or undefined while it runs. */
  endedAt(instance: Pick<Instance, 'id'>): Promise<number | undefined>;
  /** Creates an image from a root filesystem tarball (local base images). */
  importImage(rootfs: Readable, tag: string): Promise<void>;
  /**
   * Builds an image with no network, calling `onLine` with one short line per build step (raw: callers clean it).
   * Throws LAMBDA_ERR_BUILD_FAILED whose `details.logs` holds the whole build output.
   */
  buildImage(request: BuildRequest, onLine: (line: string) => void): Promise<void>;
  /** Starts a hardened container and resolves once it answers its health check. Throws LAMBDA_ERR_HEALTHCHECK_FAILED. */
  start(spec: InstanceSpec): Promise<Instance>;
  /**
   * Gives up `fn`'s starts (its function is deleted): those waiting for a turn to boot and those booting reject with
   * LAMBDA_ERR_INSTANCE_START_FAILED, removing what they made.
   */
  cancelBoots?(fn: string): void;
  /** Gives up every start as cancelBoots does, and refuses later ones: the server stops. */
  closeBoots?(): void;
  /** Stops and removes the instance's container and its socket directory. Never throws for a container already gone. */
  stop(instance: Pick<Instance, 'id'>): Promise<void>;
  /**
   * Removes what the engine keeps for a function beyond its instances (on a swarm, its link: network, relay,
   * secrets), once its instances are stopped: it is deleted, or its first deploy failed. Never throws for what is gone.
   */
  forgetFunction?(fn: string): Promise<void>;
  /** At start, before any instance starts: forgets the functions other than `known` as forgetFunction does, and their leftovers. */
  sweepFunctions?(known: string[]): Promise<number>;
  /** Every container carrying Lambda's labels, for reconciliation after a restart. */
  listManaged(): Promise<ManagedContainer[]>;
  /** Answers whether an adopted instance still serves. */
  healthy(instance: Instance): Promise<boolean>;
  /** The stem-cell pool start() takes from, when this runtime has one. */
  readonly cells?: CellPool;
}
