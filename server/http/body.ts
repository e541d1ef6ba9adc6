// Reads a request body into memory up to a limit; over it, LAMBDA_ERR_BODY_TOO_LARGE before reading the rest.
import type http from 'node:http';
import { LambdaError } from '../errors.js';

const EMPTY = Buffer.alloc(0);

export async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  const tooLarge = () => new LambdaError('LAMBDA_ERR_BODY_TOO_LARGE', { limit: `${Math.round(limit / 1024 / 1024)} MB` });
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
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}
