// The node20 shim as a plain process (no engine), for the tests that put the host's real code in front of it: where
// the shim's entry point is, and how it is started as a container starts it (its secret on stdin).
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The shim's entry point: the one place tests name it. */
export const NODE_SHIM = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../buildpacks/node20/shim/main.mjs');

export interface ShimProcess {
  child: ChildProcess;
  /** Its stdout and stderr so far, for a failure's message. */
  output(): string;
}

/**
 * Starts the shim with `env` as its whole environment (plus LAMBDA_SOCKET_DIR, where it dials the host's `host.sock`),
 * writing `secret` as the first line of its stdin as the host does at a container's start.
 */
export function startNodeShim(socketDir: string, env: Record<string, string>, secret = ''): ShimProcess {
  const child = spawn(process.execPath, [NODE_SHIM], { env: { LAMBDA_SOCKET_DIR: socketDir, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdin.end(`${secret}\n`);
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}
