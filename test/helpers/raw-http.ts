// A raw HTTP/1.1 client for tests that check framing: writes bytes as given (several requests pipelined, or a request
// cut short), and reads the answers with a parser of its own, so the gateway's parser never checks itself.
import net from 'node:net';

export interface RawAnswer {
  status: number;
  /** Lower-case names, in the order sent. */
  headers: [string, string][];
  /** How the body was framed: by `content-length`, `chunked`, by the connection's `close`, or no body (HEAD, 204, 304). */
  framing: 'length' | 'chunked' | 'close' | 'none';
  body: Buffer;
}

export interface RawExchange {
  answers: RawAnswer[];
  /** Bytes after the last whole answer (an answer cut short). */
  rest: Buffer;
  /** The server closed the connection. */
  closed: boolean;
}

/**
 * Sends `data` to 127.0.0.1:`port` and reads answers until one per method arrived (then closes) or the server closes;
 * with `untilClose`, until the server closes.
 * `methods` are the requests' methods in order (a HEAD's answer has no body). `then` runs once connected, to hang up.
 */
export function rawExchange(port: number, data: Buffer | string, methods: string[], options: { endAfter?: boolean; untilClose?: boolean; then?: (socket: net.Socket) => void } = {}): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const answers: RawAnswer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ answers, rest: received, closed });
    };
    const parse = (closed: boolean) => {
      for (;;) {
        const parsed = parseAnswer(received, methods[answers.length] === 'HEAD', closed);
        if (!parsed) break;
        answers.push(parsed.answer);
        received = received.subarray(parsed.size);
      }
      if ((answers.length >= methods.length && !options.untilClose) || closed) finish(closed);
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      parse(false);
    });
    socket.on('close', () => parse(true));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
    socket.once('connect', () => {
      socket.write(data);
      if (options.endAfter) socket.end();
      options.then?.(socket);
    });
  });
}

/** One whole answer at the start of `data`, or undefined when it has not all arrived. */
export function parseAnswer(data: Buffer, head: boolean, closed: boolean): { answer: RawAnswer; size: number } | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = data.toString('latin1', 0, end).split('\r\n');
  const status = Number((lines[0] ?? '').split(' ')[1]);
  const headers = lines.slice(1).map((line): [string, string] => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
  });
  const field = (name: string) => headers.find(([key]) => key === name)?.[1];
  const start = end + 4;
  if (head || status === 204 || status === 304 || (status >= 100 && status < 200)) {
    return { answer: { status, headers, framing: 'none', body: Buffer.alloc(0) }, size: start };
  }
  if (field('transfer-encoding')?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    let at = start;
    for (;;) {
      const lineEnd = data.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(data.toString('latin1', at, lineEnd), 16);
      if (size === 0) {
        if (data.length < lineEnd + 4) return undefined;
        return { answer: { status, headers, framing: 'chunked', body: Buffer.concat(parts) }, size: lineEnd + 4 };
      }
      if (data.length < lineEnd + 2 + size + 2) return undefined;
      parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  const length = field('content-length');
  if (length !== undefined) {
    const size = start + Number(length);
    if (data.length < size) return undefined;
    return { answer: { status, headers, framing: 'length', body: data.subarray(start, size) }, size };
  }
  if (!closed) return undefined;
  return { answer: { status, headers, framing: 'close', body: data.subarray(start) }, size: data.length };
}
