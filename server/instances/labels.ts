// The labels Lambda puts on containers and images: the engine sets them and finds its own by them, the builder
// labels its builds and refuses an image that sets one itself.

export const LABELS = {
  /** `true` on a function's images and instances (containers inherit an image's labels); `false` on cells. */
  managed: 'lambda.managed',
  fn: 'lambda.function',
  version: 'lambda.version',
  instance: 'lambda.instance',
  /** The installation's id: two servers (or test servers) sharing an engine never touch each other's containers. */
  server: 'lambda.server',
  /** On every container of the cell pool (cells, and the short-lived ones files are read from); value: the runtime. */
  cell: 'lambda.cell',
  /** On the swarm's node-pruning job (its service and tasks): `true`. */
  nodePrune: 'lambda.node-prune',
  /** On the throwaway containers of untrusted jobs (dependency installs). */
  sandbox: 'lambda.sandbox',
  /** On a sandbox that installs a function's dependencies; value: the function. */
  install: 'lambda.install',
  /** On every stage of a repository's own Dockerfile build; value: `<server id>/<function>` (server/builder/dockerfile/canonical.ts). */
  build: 'lambda.build.fn',
} as const;

/** Every platform label starts with it: a function's image may set none of its own. */
export const PLATFORM_LABEL_PREFIX = 'lambda.';

/** A listContainers filter: this server's containers carrying each of `labels` (`key=value`, or a bare key). */
export function ownFilter(serverId: string, ...labels: string[]): { label: string[] } {
  return { label: [...labels, `${LABELS.server}=${serverId}`] };
}
