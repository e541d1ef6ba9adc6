// Reads request bodies into memory within three bounds: a size limit per request, a budget for all bodies held
// together (arriving, or read for a request still being served), and an idle time after which a stalled upload is
// dropped and its memory released.
import type http from 'node:http';
import { LambdaError } from '../errors.js';

const EMPTY = Buffer.alloc(0);

export interface BodyLimits {
  /** Bytes all buffered bodies may hold together. */
  budgetBytes: number;
  /** A body that sends nothing for this long gets 408 and its connection is closed. */
  idleMs: number;
  /**
   * Called once all bodies in flight are released after they held `releaseMarkBytes` or more together: their buffers
   * are garbage then, worth collecting (collect.ts) rather than leaving to an idle server's rare collections.
   */
  released?: () => void;
  /** Default: a quarter of the budget, at most 16 MiB. */
  releaseMarkBytes?: number;
}

/**
 * Reads `req`'s body within `limit`. With `heldUntil` (the request's response), the body counts against the budget
 * until that closes: a body waiting for a busy function, or sent to it, is memory the server still holds.
 */
export type ReadBody = (req: http.IncomingMessage, limit: number, heldUntil?: http.ServerResponse) => Promise<Buffer>;

const megabytes = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

/**
 * Returns the one body reader of a server. Throws LAMBDA_ERR_BODY_TOO_LARGE (413), LAMBDA_ERR_BODY_TIMEOUT (408)
 * and LAMBDA_ERR_SERVER_BUSY (503, when the budget is spent).
 */
export function createBodyReader(limits: BodyLimits): ReadBody & { inFlight(): number } {
  let inFlight = 0;
  /** The most held together since bodies in flight were last all released. */
  let peak = 0;
  const mark = limits.releaseMarkBytes ?? Math.min(limits.budgetBytes / 4, 16 * 1024 * 1024);
  const release = (bytes: number): void => {
    inFlight -= bytes;
    if (inFlight === 0) {
      if (peak >= mark) limits.released?.();
      peak = 0;
    }
  };
  const read = async (req: http.IncomingMessage, limit: number, heldUntil?: http.ServerResponse): Promise<Buffer> => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const tooLarge = () => new LambdaError('LAMBDA_ERR_BODY_TOO_LARGE', { limit: megabytes(limit) });
    if (declared > limit) {
      req.resume();
      throw tooLarge();
    }
    // Most function traffic is GET without a body: skip the stream machinery entirely.
    if (!('content-length' in req.headers) && !('transfer-encoding' in req.headers)) {
      req.resume();
      return EMPTY;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let whole = false;
    try {
      return await new Promise<Buffer>((resolve, reject) => {
        let timer = setTimeout(stalled, limits.idleMs);
        function stalled() {
          fail(new LambdaError('LAMBDA_ERR_BODY_TIMEOUT', { idle: `${limits.idleMs} ms` }));
        }
        function fail(error: Error) {
          clearTimeout(timer);
          req.off('data', onData);
          req.off('end', onEnd);
          req.off('error', fail);
          req.off('aborted', onAborted);
          // A body over the limit is read to its end and dropped, so the client gets its 413; a stalled or refused
          // one is not read further (its connection is closed after the answer) and its memory is released now.
          if (error instanceof LambdaError && error.code === 'LAMBDA_ERR_BODY_TOO_LARGE') req.resume();
          else req.pause();
          reject(error);
        }
        function onData(chunk: Buffer) {
          if (size + chunk.length > limit) return fail(tooLarge());
          if (inFlight + chunk.length > limits.budgetBytes) {
            return fail(new LambdaError('LAMBDA_ERR_SERVER_BUSY', { budget: megabytes(limits.budgetBytes) }));
          }
          size += chunk.length;
          inFlight += chunk.length;
          if (inFlight > peak) peak = inFlight;
          chunks.push(chunk);
          clearTimeout(timer);
          timer = setTimeout(stalled, limits.idleMs);
        }
        function onEnd() {
          clearTimeout(timer);
          whole = true;
          resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
        }
        function onAborted() {
          fail(new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail: 'the client closed the connection before sending its body' }));
        }
        req.on('data', onData);
        req.once('end', onEnd);
        req.once('error', fail);
        req.once('aborted', onAborted);
      });
    } finally {
      chunks.length = 0;
      // A body read whole for a request still being served is released with its response; any other now.
      const held = size;
      if (whole && heldUntil && !heldUntil.closed) heldUntil.once('close', () => release(held));
      else release(held);
    }
  };
  return Object.assign(read, { inFlight: () => inFlight });
}
