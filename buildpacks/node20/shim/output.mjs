// The function's output (console, stdout, stderr, descriptors 1 and 2), sent in batches to the host's log.sock.
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { format } from 'node:util';
import { syncBuiltinESMExports } from 'node:module';
import { gateway, socketDir } from './settings.mjs';
import { dialGateway } from './gateway.mjs';

// console.*, process.stdout.write and process.stderr.write go in batches to `log.sock`,
// which the host owns next to host.sock, never through Docker's log driver (it halves the throughput of a function
// that logs per request). A line is `<ms>\t<o|e|p>\t<text>`; the host adds the instance and version. While the host
// falls behind or is away (a restart), at most LOG_MAX_PENDING characters wait here: later lines are dropped and
// counted, never blocking the function. Until the function has loaded, output also goes to the container's own
// stdout/stderr, so a deploy whose handler fails to load can show why (server/engine/docker.ts: tailLogs).
const LOG_FLUSH_MS = 5;
const LOG_MAX_PENDING = 1024 * 1024;
const LOG_MAX_LINE = 64 * 1024;

export const output = (() => {
  const logSocket = path.join(socketDir, 'log.sock');
  const real = { o: process.stdout.write.bind(process.stdout), e: process.stderr.write.bind(process.stderr) };
  const partial = { o: '', e: '' };
  let socket;
  let dialing = false;
  let retryMs = 10;
  let retryTimer;
  let pending = '';
  let dropped = 0;
  let scheduled = false;
  let lastFlush = 0;
  let tee = true;

  const room = () => pending.length + (socket ? socket.writableLength : 0) < LOG_MAX_PENDING;
  const add = (stream, text) => {
    if (text.length > LOG_MAX_LINE) text = `${text.slice(0, LOG_MAX_LINE)} [lambda: line cut at ${LOG_MAX_LINE} characters]`;
    if (!room()) {
      dropped += 1;
      return;
    }
    if (dropped > 0) markDropped();
    pending += `${Date.now()}\t${stream}\t${text}\n`;
  };
  const markDropped = () => {
    pending += `${Date.now()}\tp\t[lambda] ${dropped} lines dropped: the function wrote faster than its log is kept\n`;
    dropped = 0;
  };
  const takePartials = () => {
    for (const stream of ['o', 'e']) {
      if (partial[stream] === '') continue;
      const text = partial[stream];
      partial[stream] = '';
      add(stream, text);
    }
  };

  function record(stream, text) {
    // A platform line (START, END, REPORT) ends whatever the function left without a newline, so an invocation's
    // output never runs into the next one's.
    if (stream === 'p') takePartials();
    add(stream, text);
    schedule();
  }

  // The first batch after a quiet spell leaves at once; while lines keep coming, one batch per LOG_FLUSH_MS.
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    const wait = lastFlush + LOG_FLUSH_MS - Date.now();
    if (wait <= 0) setImmediate(flush);
    else setTimeout(flush, wait);
  }

  function flush() {
    scheduled = false;
    takePartials();
    // The marker is tiny and says what is missing: it goes in even when the buffer is full.
    if (dropped > 0) markDropped();
    if (!socket || pending === '') return;
    lastFlush = Date.now();
    const data = pending;
    pending = '';
    socket.write(data);
  }

  // At exit (process.exit, an uncaught exception, SIGTERM) the timers will not run: write what fits, synchronously,
  // unless the socket still holds part of an earlier batch (writing around it would cut a line).
  function flushSync() {
    takePartials();
    if (!socket || socket.writableLength > 0 || pending === '') return;
    try {
      // Over TLS the bytes must go through the socket's own encryption: queued, sent if the process lives long enough.
      if (gateway) socket.write(pending);
      else fs.writeSync(socket._handle.fd, pending);
      pending = '';
    } catch {
      // the host is gone: nothing more to do
    }
  }

  function dial() {
    if (socket || dialing) return;
    dialing = true;
    clearTimeout(retryTimer);
    const next = gateway ? dialGateway(' log') : net.connect(logSocket);
    next.once(gateway ? 'secureConnect' : 'connect', () => {
      dialing = false;
      retryMs = 10;
      socket = next;
      flush();
    });
    // The host never sends anything; reading notices at once when it goes away (a restart), to dial again.
    next.resume();
    next.on('error', () => {});
    next.once('close', () => {
      dialing = false;
      if (socket === next) socket = undefined;
      retryTimer = setTimeout(dial, retryMs);
      retryTimer.unref();
      retryMs = Math.min(retryMs * 2, 1000);
    });
  }

  function capture(stream, letter) {
    stream.write = function write(chunk, encoding, callback) {
      if (typeof encoding === 'function') {
        callback = encoding;
        encoding = undefined;
      }
      let text;
      if (typeof chunk === 'string') {
        text = encoding && encoding !== 'utf8' && encoding !== 'utf-8' && Buffer.isEncoding(encoding) ? Buffer.from(chunk, encoding).toString('utf8') : chunk;
      } else if (ArrayBuffer.isView(chunk)) {
        text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8');
      } else {
        text = String(chunk);
      }
      if (tee) real[letter](text);
      if (partial[letter] !== '') {
        text = partial[letter] + text;
        partial[letter] = '';
      }
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        add(letter, text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end));
        start = end + 1;
      }
      if (start < text.length) {
        partial[letter] = text.slice(start);
        if (partial[letter].length > LOG_MAX_LINE) takePartials();
      }
      schedule();
      if (typeof callback === 'function') process.nextTick(callback);
      return true;
    };
  }

  capture(process.stdout, 'o');
  capture(process.stderr, 'e');
  // console's own machinery (an 'error' listener added and removed on every call) costs several times the rest of a
  // log line; AWS Lambda's Node runtime replaces these methods too. The text is util.format's, as console's is
  // without a terminal (console.group's indentation is not kept).
  for (const [method, stream] of [['log', process.stdout], ['info', process.stdout], ['debug', process.stdout], ['warn', process.stderr], ['error', process.stderr]]) {
    console[method] = (...args) => {
      stream.write(`${format(...args)}\n`);
    };
  }
  // Loggers that write to the descriptors themselves (pino's default destination, through sonic-boom) are captured too.
  const realWriteSync = fs.writeSync;
  const realWriteAsync = fs.write;
  const streamOf = (fd) => (fd === 1 ? process.stdout : fd === 2 ? process.stderr : undefined);
  const fdText = (data, args) => {
    if (typeof data === 'string') {
      const encoding = typeof args[1] === 'string' && Buffer.isEncoding(args[1]) ? args[1] : 'utf8';
      return { text: encoding === 'utf8' ? data : Buffer.from(data, encoding).toString('utf8'), bytes: Buffer.byteLength(data, encoding) };
    }
    const options = args[0] !== null && typeof args[0] === 'object' ? args[0] : { offset: args[0], length: args[1] };
    const offset = options.offset ?? 0;
    const length = options.length ?? data.byteLength - offset;
    return { text: Buffer.from(data.buffer, data.byteOffset + offset, length).toString('utf8'), bytes: length };
  };
  fs.writeSync = function writeSync(fd, data, ...args) {
    const stream = streamOf(fd);
    if (!stream) return realWriteSync.call(fs, fd, data, ...args);
    const { text, bytes } = fdText(data, args);
    stream.write(text);
    return bytes;
  };
  fs.write = function write(fd, data, ...args) {
    const stream = streamOf(fd);
    if (!stream) return realWriteAsync.call(fs, fd, data, ...args);
    const callback = typeof args.at(-1) === 'function' ? args.pop() : undefined;
    const { text, bytes } = fdText(data, args);
    stream.write(text);
    if (callback) process.nextTick(callback, null, bytes, data);
  };
  syncBuiltinESMExports();
  process.on('uncaughtExceptionMonitor', (error) => {
    for (const line of String(error?.stack || error).split('\n')) add('e', line);
  });
  process.on('exit', flushSync);
  dial();

  return {
    record,
    flush,
    /** Dials now rather than at the next retry: a cell's function is about to load, and its socket is there. */
    dialNow() {
      retryMs = 10;
      dial();
    },
    /** The function has loaded: its output stops going to the container's own log. */
    loaded() {
      tee = false;
    },
  };
})();
