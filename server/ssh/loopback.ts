// The credential an SSH command's CLI run uses to call this server's REST API over loopback: one random key per
// command, held in memory while it runs, never stored; its requests still open are cut when the command ends.
import type http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';

export interface LoopbackGrant {
  key: string;
  /** Revokes the key and closes its requests in flight (a `logs --follow` whose SSH client went away). */
  release(): void;
}

export interface LoopbackCredentials {
  /** A key for one command of the SSH key `who` (its id and name): releases it names are recorded as made by it. */
  issue(who?: string): LoopbackGrant;
  /** True for a key issued and not released; found by its SHA-256, so the lookup's timing says nothing of the key. */
  verify(presented: string | undefined): boolean;
  /** Who a key issued and not released acts for, as the API's identifyKey reports a token. */
  identify(presented: string | undefined): { id: string; name: string } | undefined;
  /** Wraps the API handler so requests made with an issued key can be cut when it is released. */
  wrap<T extends unknown[]>(api: (req: http.IncomingMessage, res: http.ServerResponse, ...rest: T) => Promise<void>): (req: http.IncomingMessage, res: http.ServerResponse, ...rest: T) => Promise<void>;
}

const digest = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

export function createLoopbackCredentials(): LoopbackCredentials {
  const active = new Map<string, Set<http.ServerResponse>>();
  const owners = new Map<string, string>();
  return {
    issue(who = 'unknown') {
      const key = `lambda_ssh_${randomBytes(32).toString('base64url')}`;
      const id = digest(key);
      active.set(id, new Set());
      owners.set(id, who);
      return {
        key,
        release() {
          const open = active.get(id);
          active.delete(id);
          owners.delete(id);
          for (const res of open ?? []) res.destroy();
        },
      };
    },
    verify: (presented) => presented !== undefined && presented.startsWith('lambda_ssh_') && active.has(digest(presented)),
    identify(presented) {
      if (presented === undefined || !presented.startsWith('lambda_ssh_')) return undefined;
      const who = owners.get(digest(presented));
      return who === undefined ? undefined : { id: 'ssh', name: `SSH key ${who}` };
    },
    wrap(api) {
      return (req, res, ...rest) => {
        const presented = /^Bearer\s+(lambda_ssh_\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
        const open = presented === undefined ? undefined : active.get(digest(presented));
        if (open) {
          open.add(res);
          res.once('close', () => open.delete(res));
        }
        return api(req, res, ...rest);
      };
    },
  };
}
