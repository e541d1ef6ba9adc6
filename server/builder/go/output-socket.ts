// The Unix socket a Go build talks to: nothing but PUT /output (the binary) and PUT /cache (the build cache's
// files), each once, size-bounded, written to a file the server chose. No tunnel: a Go build reaches no network.
import fs from 'node:fs';
import http from 'node:http';
import { listenForContainer, receiveBoundedPut } from '../bounded-put.js';

export interface OutputSocket {
  /** The file a PUT completed, or undefined. */
  received(name: 'output' | 'cache'): string | undefined;
  close(): Promise<void>;
}

/** `files` maps each accepted name to the file it is written to and its bound in bytes. */
export async function serveOutputSocket(socketPath: string, files: Partial<Record<'output' | 'cache', { file: string; maxBytes: number }>>, onRefused: (message: string) => void): Promise<OutputSocket> {
  const done = new Map<string, string>();
  const started = new Set<string>();
  const server = http.createServer((req, res) => {
    const name = (req.url ?? '').slice(1) as 'output' | 'cache';
    const target = files[name];
    if (req.method !== 'PUT' || !target || started.has(name)) {
      req.resume();
      res.writeHead(target ? 409 : 405).end();
      return;
    }
    started.add(name);
    void receiveBoundedPut(req, res, target.file, target.maxBytes, name === 'output' ? 'the binary is' : 'the build cache is', onRefused).then((bytes) => {
      if (bytes !== undefined) done.set(name, target.file);
    });
  });
  // CONNECT and upgrades are not served: the connection is closed.
  server.on('connect', (_req, socket: import('node:net').Socket) => socket.destroy());
  server.on('upgrade', (_req, socket: import('node:net').Socket) => socket.destroy());
  await listenForContainer(server, socketPath);
  return {
    received: (name) => done.get(name),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(socketPath, { force: true });
    },
  };
}
