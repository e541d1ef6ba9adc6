// The gateway's side of an instance's dial-in over the swarm link: the first line a connection sends names its
// instance and carries that instance's secret; only a line that matches, whole, in time, lets the connection on.
import type net from 'node:net';
import { timingSafeEqual } from 'node:crypto';

/** `<instance id> <64 hex digits>[ log]\n`: an id is at most 64 characters, so a longer line is no dial-in. */
export const DIAL_IN_LINE_MAX = 64 + 1 + 64 + 4 + 1;
/** Time for the line to arrive, from the relay's connection. */
export const DIAL_IN_TIMEOUT_MS = 5_000;

const LINE = /^([A-Za-z0-9_.-]{1,64}) ([0-9a-f]{64})( log)?$/;

/** What a connection that proved itself is for: serving requests, or carrying the instance's output (` log`). */
export interface DialIn {
  instance: string;
  channel: 'requests' | 'log';
}

/**
 * Reads a dial-in line from `socket` and checks it against `secretOf(instance)` in constant time. Resolves the
 * instance id, with the socket paused and any bytes after the line put back for what reads next; otherwise
 * destroys the socket and resolves undefined (an unknown instance and a wrong secret look the same from outside).
 * Once it resolves an instance, the socket's errors are the caller's to handle.
 */
export async function acceptDialIn(socket: net.Socket, secretOf: (instance: string) => string | undefined, timeoutMs = DIAL_IN_TIMEOUT_MS): Promise<string | undefined> {
  const accepted = await acceptChannel(socket, secretOf, timeoutMs);
  if (accepted?.channel === 'requests') return accepted.instance;
  socket.destroy();
  return undefined;
}

/** acceptDialIn for either channel: the instance and what its connection is for. */
export function acceptChannel(socket: net.Socket, secretOf: (instance: string) => string | undefined, timeoutMs = DIAL_IN_TIMEOUT_MS): Promise<DialIn | undefined> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const finish = (instance: DialIn | undefined, rest?: Buffer): void => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.removeListener('error', onClose);
      if (instance === undefined) {
        socket.destroy();
      } else {
        socket.pause();
        if (rest && rest.length > 0) socket.unshift(rest);
      }
      resolve(instance);
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf(0x0a);
      if (end < 0) {
        if (buffered.length >= DIAL_IN_LINE_MAX) finish(undefined);
        return;
      }
      if (end >= DIAL_IN_LINE_MAX) return finish(undefined);
      const match = LINE.exec(buffered.subarray(0, end).toString('latin1'));
      const expected = match ? secretOf(match[1]) : undefined;
      const given = Buffer.from(match?.[2] ?? '', 'latin1');
      // Compared whatever happened above, so the time taken does not say whether the instance exists.
      const wanted = Buffer.from(expected && expected.length === 64 ? expected : '0'.repeat(64), 'latin1');
      const equal = given.length === 64 && timingSafeEqual(given, wanted);
      finish(match && expected && equal ? { instance: match[1], channel: match[3] ? 'log' : 'requests' } : undefined, buffered.subarray(end + 1));
    };
    const onClose = (): void => finish(undefined);
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on('data', onData);
    socket.on('close', onClose);
    // A peer that resets mid-line is a dial-in that failed, not an error of the process's.
    socket.on('error', onClose);
  });
}
