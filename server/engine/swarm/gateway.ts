// The gateway's end of the swarm link on the manager: per function a Unix socket only that function's relay mounts;
// each connection proves which instance it is (its dial-in line) and is then served as that instance's own.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { InstanceClients } from '../../instances/requests/client.js';
import type { Instance } from '../../instances/engine.js';
import { LOG_SOCKET_NAME } from '../../instances/protocol.js';
import { acceptChannel } from './dial-in.js';
import { GATEWAY_SOCKET } from './link.js';

type Member = Pick<Instance, 'id' | 'fn' | 'socketPath'>;

/** Output connections one instance holds at once (its shim keeps one); more are closed. */
const MAX_LOG_CONNECTIONS = 2;

/**
 * The function's folder under the links folder: its name when short, else its start, `_` and a hash of it (a
 * function's name never holds `_`). A socket's path is at most 107 bytes, and a name may be 63 characters.
 */
export function linkFolder(fn: string): string {
  if (fn.length <= 24) return fn;
  return `${fn.slice(0, 11)}_${createHash('sha256').update(fn).digest('hex').slice(0, 12)}`;
}

export interface SwarmGateways {
  /** The function's socket folder (for its relay's mount), listening from now on. */
  open(fn: string): string;
  /** The instance may dial in, through its own function's relay only. */
  admit(instance: Member): void;
  /** The instance may no longer dial in (stopped). */
  forget(id: string): void;
  /** Stops listening for `fn` and removes its folder (the function is deleted). Nothing for one never opened. */
  drop(fn: string): void;
  /** Removes the folders of functions other than `known` (left by a server before this one). */
  sweep(known: string[]): number;
  close(): void;
}

/** One listener per function under `linksDir` (`<fn>/gateway.sock`). */
export function createSwarmGateways(linksDir: string, clients: Pick<InstanceClients, 'secretOf' | 'link'>): SwarmGateways {
  const servers = new Map<string, net.Server>();
  const members = new Map<string, Member>();
  fs.mkdirSync(linksDir, { recursive: true, mode: 0o700 });

  const logConnections = new Map<string, number>();

  /**
   * The instance's output goes where a local instance's does: its log socket beside its host socket, which the host
   * listens on (server/instances/log-socket.ts) and this joins the checked connection to.
   */
  const joinLog = (member: Member, socket: net.Socket): void => {
    const held = logConnections.get(member.id) ?? 0;
    if (held >= MAX_LOG_CONNECTIONS) return void socket.destroy();
    logConnections.set(member.id, held + 1);
    const local = net.connect(path.join(path.dirname(member.socketPath), LOG_SOCKET_NAME));
    local.on('error', () => socket.destroy());
    local.once('close', () => {
      socket.destroy();
      const left = (logConnections.get(member.id) ?? 1) - 1;
      if (left > 0) logConnections.set(member.id, left);
      else logConnections.delete(member.id);
    });
    socket.once('close', () => local.end());
    socket.pipe(local);
    socket.resume();
  };

  const listen = (fn: string, socketPath: string): net.Server => {
    const server = net.createServer((socket) => {
      socket.on('error', () => socket.destroy());
      // An instance of another function is unknown here, whatever its secret: each function's relay has its own socket.
      const secretOf = (id: string): string | undefined => (members.get(id)?.fn === fn ? clients.secretOf(id) : undefined);
      void acceptChannel(socket, secretOf).then((accepted) => {
        const member = accepted && members.get(accepted.instance);
        if (!accepted || !member) return socket.destroy();
        if (accepted.channel === 'requests') return clients.link(member).adopt(socket);
        joinLog(member, socket);
      });
    });
    fs.rmSync(socketPath, { force: true });
    server.listen(socketPath);
    // The relay runs as its own uid; the folder, which only that relay mounts, guards the socket.
    fs.chmodSync(socketPath, 0o666);
    return server;
  };

  return {
    open(fn) {
      const dir = path.join(linksDir, linkFolder(fn));
      if (!servers.has(fn)) {
        fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
        servers.set(fn, listen(fn, path.join(dir, GATEWAY_SOCKET)));
      }
      return dir;
    },
    admit(instance) {
      members.set(instance.id, instance);
    },
    forget(id) {
      members.delete(id);
    },
    drop(fn) {
      servers.get(fn)?.close();
      servers.delete(fn);
      fs.rmSync(path.join(linksDir, linkFolder(fn)), { recursive: true, force: true });
    },
    sweep(known) {
      const keep = new Set([...known, ...servers.keys()].map(linkFolder));
      let removed = 0;
      for (const entry of fs.readdirSync(linksDir)) {
        if (keep.has(entry)) continue;
        fs.rmSync(path.join(linksDir, entry), { recursive: true, force: true });
        removed += 1;
      }
      return removed;
    },
    close() {
      for (const server of servers.values()) server.close();
      servers.clear();
    },
  };
}
