// How much of an instance's answer the host holds in memory, and the reader that keeps to it: the host's own calls (a
// direct invoke, a schedule, a queued call, a cell's init) read the whole answer before they act on it, and a
// function's answer is the function's to make as long as it likes.
import type { Readable } from 'node:stream';
import { InstanceFailure } from './failure.js';

/**
 * The most of one answer the host reads into memory: AWS Lambda's limit on a synchronous response (6 MB, counted as
 * it counts it), so a function that fits there fits here, and a flood costs the server this much per call, no more.
 */
export const MAX_HELD_ANSWER_BYTES = 6_291_556;

/** `limit` as people read it: "6 MB" for the answer cap. */
export function capText(limit: number): string {
  return `${Math.floor(limit / 1_000_000)} MB`;
}

/**
 * Reads `body` to its end, up to `limit` bytes. Past that it stops reading, destroys `body` (which drops the
 * connection under it) and throws InstanceFailure `oversized`; other errors of `body` are thrown as they come.
 */
export async function readCapped(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    length += bytes.length;
    if (length > limit) {
      body.destroy();
      throw new InstanceFailure('oversized', `the answer is over ${limit} bytes`);
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, length);
}
