// The Unix socket a Go build talks to: nothing but PUT /output (the binary) and PUT /cache (the build cache's
// files), each once, size-bounded, written to a file the server chose. No tunnel: a Go build reaches no network.
import fs from 'node:fs';
import http from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

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
    let bytes = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _encoding, next) {
        bytes += chunk.length;
        next(bytes > target.maxBytes ? new Error(`the ${name === 'output' ? 'binary' : 'build cache'} is over ${target.maxBytes} bytes`) : null, chunk);
      },
    });
    const file = fs.createWriteStream(target.file, { flags: 'wx', mode: 0o600 });
    pipeline(req, limit, file).then(
      () => {
        done.set(name, target.file);
        res.writeHead(204).end();
      },
      (error: Error) => {
        const refuse = () => {
          fs.rmSync(target.file, { force: true });
          onRefused(error.message);
          res.writeHead(413).end();
        };
        if (file.closed) refuse();
        else file.once('close', refuse);
      },
    );
  });
  // CONNECT and upgrades are not served: the connection is closed.
  server.on('connect', (_req, socket: import('node:net').Socket) => socket.destroy());
  server.on('upgrade', (_req, socket: import('node:net').Socket) => socket.destroy());
  fs.rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  // The build's user (uid 10001) connects; the server's own folder around it keeps other host users out.
  fs.chmodSync(socketPath, 0o666);
  return {
    received: (name) => done.get(name),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(socketPath, { force: true });
    },
  };
}
