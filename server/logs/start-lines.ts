// The operator's start lines: where the server listens (HTTP and SSH) and where the admin API token's key comes from.
import { detailLine, stepLine } from './progress-text.js';

/** Where a listener bound, in words, with the variable that changes it: `0.0.0.0` is every interface, not localhost. */
export function whereBound(host: string, variable: string): string {
  const set = `(${variable}=${host})`;
  if (host === '0.0.0.0' || host === '::' || host === '') return `all interfaces ${set}`;
  if (host === '127.0.0.1' || host === '::1' || host === 'localhost') return `loopback only ${set}`;
  return `${host} only ${set}`;
}

/** `(port N, …)` stays in the line: scripts and tests read the port the server took from it. */
export function httpListenLine(at: { host: string; port: number; url: string; dataDir: string }): string {
  return stepLine(`Lambda listening on ${whereBound(at.host, 'LAMBDA_HOST')}, port ${at.port}: ${at.url} (port ${at.port}, data in ${at.dataDir})`);
}

/** Where the dashboard is, on its own host: a newcomer reads it off the terminal. */
export function dashboardLine(url: string): string {
  return stepLine(`Dashboard: ${url} (sign in with an API token)`);
}

export function sshListenLine(at: { host: string; port: number; fingerprint: string }): string {
  return stepLine(`SSH listening on ${whereBound(at.host, 'LAMBDA_SSH_HOST')}, port ${at.port} (host key ${at.fingerprint})`);
}

/**
 * The key is printed at the first start only (just its hash is stored), so a restart says why none is shown and
 * how to get one again; a key given in LAMBDA_API_KEY is the operator's own and is never printed.
 */
export function adminTokenLines(start: { generatedKey?: string; seeded: boolean }): string[] {
  if (start.generatedKey) return [stepLine('Admin API key (shown once, only its hash is stored):'), detailLine(start.generatedKey)];
  if (start.seeded) return [stepLine('Admin API token: the key in LAMBDA_API_KEY')];
  return [
    stepLine(
      'Admin API token: one already exists; its key was shown only at the first start. Lost it? Start once with ' +
        'LAMBDA_API_KEY=<a key of your own, e.g. from `openssl rand -hex 32`> to add an admin token with that key',
    ),
  ];
}
