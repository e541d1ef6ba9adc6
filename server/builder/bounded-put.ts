// One PUT from a build or install container written to a file the server chose, refused past its bound: the
// container is hostile, so a partial or oversized file never stays behind.
import fs from 'node:fs';
import type http from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Writes the request's body (`what` names it with its verb, "the binary is")  to `file` (created new, 0600); answers 204 with its size, or 413 and removes it. */
export function receiveBoundedPut(req: http.IncomingMessage, res: http.ServerResponse, file: string, maxBytes: number, what: string, onRefused: (message: string) => void): Promise<number | undefined> {
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      bytes += chunk.length;
      next(bytes > maxBytes ? new Error(`${what} over ${maxBytes} bytes`) : null, chunk);
    },
  });
  const out = fs.createWriteStream(file, { flags: 'wx', mode: 0o600 });
  return pipeline(req, limit, out).then(
    () => {
      res.writeHead(204).end();
      return bytes;
    },
    (error: Error) =>
      new Promise<undefined>((resolve) => {
        // The file may still be opening when the pipeline fails: removed once it is closed, or it would come back.
        const refuse = () => {
          fs.rmSync(file, { force: true });
          onRefused(error.message);
          res.writeHead(413).end();
          resolve(undefined);
        };
        if (out.closed) refuse();
        else out.once('close', refuse);
      }),
  );
}

/** Listens on `socketPath` for a container's user (uid 10001); the server's own folder around it keeps other host users out. */
export async function listenForContainer(server: http.Server, socketPath: string): Promise<void> {
  fs.rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  fs.chmodSync(socketPath, 0o666);
}
