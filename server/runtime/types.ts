// The Runtime interface: everything Lambda asks of a container engine. Docker implements it today, Swarm later.
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
  env: Record<string, string>;
}

/** A running, healthy instance; the gateway reaches it over `socketPath`. */
export interface Instance {
  id: string;
  fn: string;
  sha: string;
  socketPath: string;
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
  /** Image tag to produce, e.g. lambda/greet:3f2c1a9b7e01. */
  tag: string;
  /** A directory holding the Dockerfile and everything it copies. */
  contextDir: string;
  /** Builds that install dependencies need the network; instances never get it. */
  network: boolean;
}

export interface Runtime {
  /** True when the engine has this image. */
  imageExists(tag: string): Promise<boolean>;
  /** Creates an image from a root filesystem tarball (local base images). */
  importImage(rootfs: Readable, tag: string): Promise<void>;
  /** Builds an image, calling `onLine` with each line of build output. Throws LAMBDA_ERR_BUILD_FAILED. */
  buildImage(request: BuildRequest, onLine: (line: string) => void): Promise<void>;
  /** Starts a hardened container and resolves once it answers its health check. Throws LAMBDA_ERR_HEALTHCHECK_FAILED. */
  start(spec: InstanceSpec): Promise<Instance>;
  /** Stops and removes the instance's container and its socket directory. Never throws for a container already gone. */
  stop(instance: Pick<Instance, 'id'>): Promise<void>;
  /** Every container carrying Lambda's labels, for reconciliation after a restart. */
  listManaged(): Promise<ManagedContainer[]>;
  /** Answers whether an adopted instance still serves. */
  healthy(instance: Instance): Promise<boolean>;
}
