// The labels Lambda puts on containers and images, and the filter that finds this server's own by them.

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
  /** On the throwaway containers of untrusted jobs (dependency installs). */
  sandbox: 'lambda.sandbox',
} as const;

/** A listContainers filter: this server's containers carrying each of `labels` (`key=value`, or a bare key). */
export function ownFilter(serverId: string, ...labels: string[]): { label: string[] } {
  return { label: [...labels, `${LABELS.server}=${serverId}`] };
}
