// An instance's folder on the host: made and owned by the host, mounted read-only into its container, holding the
// sockets the shim dials; and the instance ids that name it.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { HOST_SOCKET_NAME } from '../instances/protocol.js';

/** Where an instance's folder is mounted in its container (the shim reads it from LAMBDA_SOCKET_DIR). */
export const CONTAINER_SOCKET_DIR = '/run/lambda';

/** A new instance (or cell) id: 12 hex digits, safe in a path and a container name. */
export function newInstanceId(): string {
  return randomBytes(6).toString('hex');
}

/** Whether `id` can be an instance's (a label or a file name read back is checked before it names a path). */
export function isInstanceId(id: string): boolean {
  return /^[0-9a-f]{12}$/.test(id);
}

/** The socket the host listens on in an instance's folder. */
export function hostSocketOf(instancesDir: string, id: string): string {
  return path.join(instancesDir, id, HOST_SOCKET_NAME);
}

/**
 * Makes a folder the container gets read-only (the socket folder, a cell's task folder): the host owns it and what
 * is in it, so a function can neither swap a socket for a link elsewhere nor write to the host's disk through it.
 */
export function makeHostFolder(dir: string): void {
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.chmodSync(dir, 0o755);
}

/** Removes an instance's folder and its sockets. */
export function removeInstanceFolder(instancesDir: string, id: string): void {
  fs.rmSync(path.join(instancesDir, id), { recursive: true, force: true });
}
