// The Unix socket an install container talks to: CONNECT tunnels to the registry (registry-proxy.ts) and one
// PUT /output carrying the installed files as a tar, written to a file the server chose, size-bounded.
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { listenForContainer, receiveBoundedPut } from '../bounded-put.js';
import { openTunnel, TunnelRefused, type EgressRules } from './registry-proxy.js';

/** Both ends of every tunnel count. */
const MAX_OPEN_SOCKETS = 128;

export interface InstallSocketOptions {
  egress: EgressRules;
  /** Where the one accepted output goes. */
  outputFile: string;
  maxOutputBytes: number;
  /** Told about each refused tunnel, so the build output says why an install could not reach something. */
  onRefused(message: string): void;
}

export interface InstallSocket {
  /** Bytes of the received output, once a PUT /output completed. */
  received(): number | undefined;
  close(): Promise<void>;
}

export async function serveInstallSocket(socketPath: string, options: InstallSocketOptions): Promise<InstallSocket> {
  const open = new Set<net.Socket>();
  let received: number | undefined;
  let receiving = false;

  const server = http.createServer((req, res) => {
    if (req.method !== 'PUT' || req.url !== '/output' || receiving) {
      req.resume();
      res.writeHead(req.url === '/output' ? 409 : 405).end();
      return;
    }
    receiving = true;
    void receiveBoundedPut(req, res, options.outputFile, options.maxOutputBytes, 'the installed files are', options.onRefused).then((bytes) => {
      received = bytes;
    });
  });

  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    // npm keeps a handful of connections; a container opening thousands would only spend the server's descriptors.
    if (open.size >= MAX_OPEN_SOCKETS) {
      client.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\r\n');
      return;
    }
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    openTunnel(req.url ?? '', options.egress).then(
      (remote) => {
        open.add(remote);
        remote.on('close', () => open.delete(remote));
        remote.on('error', () => client.destroy());
        client.on('close', () => remote.destroy());
        remote.on('close', () => client.destroy());
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) remote.write(head);
        client.pipe(remote);
        remote.pipe(client);
      },
      (error: unknown) => {
        const status = error instanceof TunnelRefused ? error.status : 502;
        const message = error instanceof Error ? error.message : String(error);
        options.onRefused(message);
        client.end(`HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : 'Bad Gateway'}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${message}\n`);
      },
    );
  });

  await listenForContainer(server, socketPath);

  return {
    received: () => received,
    async close() {
      for (const socket of open) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(socketPath, { force: true });
    },
  };
}
