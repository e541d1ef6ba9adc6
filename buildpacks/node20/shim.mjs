// Runtime shim for node20 functions: loads the handler, serves HTTP on a Unix socket, speaks the AWS Lambda contract.
// Runs inside the container as PID 1 with plain Node and no dependencies.
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { syncBuiltinESMExports } from 'node:module';
import { isatty } from 'node:tty';

// Every instance boots with a secret from the host: the first line of stdin, which the host writes once and then
// closes, so it is in no environment block (/proc/*/environ) and stdin holds nothing more for function code. The
// host's own calls (health, direct invokes, a stem cell's warm-up and init) carry it; a call without it is public
// traffic, whatever x-lambda-internal-* headers it sends. A stem cell (server/runtime/cells.ts) boots with no
// function, and the host's one init call brings the rest.
const instanceSecret = readSecret();
const isCell = process.env.LAMBDA_CELL === '1';
delete process.env.LAMBDA_CELL;
const socketDir = process.env.LAMBDA_SOCKET_DIR || '/run/lambda';
const hostSocket = path.join(socketDir, 'host.sock');
let taskRoot, handlerSpec, functionName, functionVersion, timeoutMs, memoryMb;
function readSettings() {
  taskRoot = process.env.LAMBDA_TASK_ROOT || '/var/task';
  handlerSpec = process.env.LAMBDA_HANDLER || 'index.handler';
  functionName = process.env.LAMBDA_FUNCTION_NAME || 'function';
  functionVersion = process.env.LAMBDA_FUNCTION_VERSION || '$LATEST';
  timeoutMs = Number(process.env.LAMBDA_TIMEOUT_MS || 10000);
  memoryMb = process.env.LAMBDA_MEMORY_MB || '256';
}
readSettings();
/** The first line of stdin (at most 256 bytes), read before anything else runs; '' when there is none. */
function readSecret() {
  if (isatty(0)) return '';
  const buffer = Buffer.alloc(256);
  let length = 0;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + 20_000;
  while (length < buffer.length && !buffer.subarray(0, length).includes(10)) {
    let read;
    try {
      read = fs.readSync(0, buffer, length, buffer.length - length, null);
    } catch (error) {
      // A non-blocking descriptor with nothing yet: the host writes within moments of the start.
      if (error.code === 'EAGAIN' && Date.now() < deadline) {
        Atomics.wait(pause, 0, 0, 5);
        continue;
      }
      break;
    }
    if (read === 0) break;
    length += read;
  }
  const text = buffer.toString('utf8', 0, length);
  return text.split('\n')[0].trim();
}

// The host marks its own calls with these headers (server/runtime/protocol.ts); the gateway also strips them from public traffic.
const INVOKE_HEADER = 'x-lambda-internal-invoke';
const REQUEST_ID_HEADER = 'x-lambda-internal-request-id';
const ERROR_HEADER = 'x-lambda-internal-error';
const SECRET_HEADER = 'x-lambda-internal-secret';
const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|graphql)|[^;]*\+(json|xml))/i;

// Function output: console.*, process.stdout.write and process.stderr.write go in batches to `log.sock`,
// which the host owns next to host.sock, never through Docker's log driver (it halves the throughput of a function
// that logs per request). A line is `<ms>\t<o|e|p>\t<text>`; the host adds the instance and version. While the host
// falls behind or is away (a restart), at most LOG_MAX_PENDING characters wait here: later lines are dropped and
// counted, never blocking the function. Until the function has loaded, output also goes to the container's own
// stdout/stderr, so a deploy whose handler fails to load can show why (server/runtime/docker.ts: tailLogs).
const LOG_FLUSH_MS = 5;
const LOG_MAX_PENDING = 1024 * 1024;
const LOG_MAX_LINE = 64 * 1024;

const output = (() => {
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
      fs.writeSync(socket._handle.fd, pending);
      pending = '';
    } catch {
      // the host is gone: nothing more to do
    }
  }

  function dial() {
    if (socket || dialing) return;
    dialing = true;
    clearTimeout(retryTimer);
    const next = net.connect(logSocket);
    next.once('connect', () => {
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

// Every load, a classic start's or a cell's init, goes through here: each invocation then gets AWS Lambda's
// START, END and REPORT lines, and the first one the Init Duration.
async function loadHandler() {
  output.dialNow();
  const began = performance.now();
  const handler = await loadFunction();
  return invocations(handler, performance.now() - began);
}

function invocations(handler, initMs) {
  const version = functionVersion;
  const memory = memoryMb;
  const limitMs = timeoutMs;
  let coldInit = initMs;
  // Reading the RSS costs a system call: at most every 100 ms, so a busy instance does not pay it per request.
  let maxRss = process.memoryUsage.rss();
  let sampledAt = Date.now();
  const maxMemoryMb = () => {
    const now = Date.now();
    if (now - sampledAt >= 100) {
      sampledAt = now;
      maxRss = Math.max(maxRss, process.memoryUsage.rss());
    }
    return Math.ceil(maxRss / 1048576);
  };
  output.loaded();
  return (event, context) => {
    const id = context.awsRequestId;
    const started = performance.now();
    const init = coldInit;
    coldInit = undefined;
    output.record('p', `START RequestId: ${id} Version: ${version}`);
    let finished = false;
    const finish = (status) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const duration = performance.now() - started;
      const initText = init === undefined ? '' : `\tInit Duration: ${init.toFixed(2)} ms`;
      output.record('p', `END RequestId: ${id}`);
      output.record('p', `REPORT RequestId: ${id}\tDuration: ${duration.toFixed(2)} ms\tBilled Duration: ${Math.max(1, Math.ceil(duration))} ms\tMemory Size: ${memory} MB\tMax Memory Used: ${maxMemoryMb()} MB${initText}\tStatus: ${status}`);
    };
    // The host replaces the instance at the same moment: say why, and send it before that happens.
    const timer = setTimeout(() => {
      output.record('p', `${new Date().toISOString()} ${id} Task timed out after ${(limitMs / 1000).toFixed(2)} seconds`);
      finish('timeout');
      output.flush();
    }, limitMs);
    // An error's END and REPORT come after the shim has logged the error itself, as in AWS Lambda.
    const failed = (error) => {
      process.nextTick(finish, 'error');
      throw error;
    };
    let result;
    try {
      result = handler(event, context);
    } catch (error) {
      failed(error);
    }
    return Promise.resolve(result).then((value) => {
      finish('success');
      return value;
    }, failed);
  };
}

async function loadFunction() {
  const dot = handlerSpec.lastIndexOf('.');
  const file = handlerSpec.slice(0, dot);
  const exportName = handlerSpec.slice(dot + 1);
  const candidates = ['', '.js', '.mjs', '.cjs'].map((ext) => path.join(taskRoot, file + ext));
  const found = candidates.find((candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile());
  if (!found) throw new Error(`handler file "${file}" not found (looked for ${file}.js, .mjs, .cjs in the repository)`);
  let mod;
  try {
    mod = await import(pathToFileURL(found).href);
  } catch (error) {
    throw await withSyntaxLocation(error, found);
  }
  const fn = mod[exportName] ?? mod.default?.[exportName];
  if (typeof fn !== 'function') throw new Error(`"${path.basename(found)}" does not export a function named "${exportName}"`);
  // Callback-style handlers (event, context, callback) are still valid Lambda handlers.
  if (fn.length >= 3) {
    return (event, context) => new Promise((resolve, reject) => {
      const maybe = fn(event, context, (error, result) => (error ? reject(error) : resolve(result)));
      if (maybe && typeof maybe.then === 'function') maybe.then(resolve, reject);
    });
  }
  return fn;

  // Node 20 reports an ES module's syntax error without file or line (CommonJS has both). `node --check` prints
  // `file:line`, the source line and a caret: ask it about the handler file, then the other sources it may import.
  async function withSyntaxLocation(error, entry) {
    if (!(error instanceof SyntaxError) || /^\s*(?:file:\/\/)?\/\S*:\d+\s*$/m.test(error.stack || '')) return error;
    const { spawnSync } = await import('node:child_process');
    const sources = [entry];
    const walk = (dir, depth) => {
      for (const item of fs.readdirSync(dir, { withFileTypes: true })) {
        if (sources.length >= 200) return;
        const full = path.join(dir, item.name);
        if (item.isDirectory() && item.name !== 'node_modules' && !item.name.startsWith('.') && depth < 8) walk(full, depth + 1);
        else if (item.isFile() && /\.(m?js|cjs)$/.test(item.name) && full !== entry) sources.push(full);
      }
    };
    try {
      walk(taskRoot, 0);
    } catch {
      // an unreadable folder: check what was found
    }
    const started = Date.now();
    for (const file of sources) {
      if (Date.now() - started > 5000) break;
      const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 5000, env: {} });
      if (check.status === 0 || !check.stderr) continue;
      const lines = check.stderr.split('\n');
      const at = /^(\/.*):(\d+)$/.exec(lines[0] || '');
      if (!at) continue;
      const where = `${path.relative(taskRoot, at[1])}:${at[2]}`;
      // The source line comes from the pushed repository: no control characters reach the pusher's terminal.
      const excerpt = lines.slice(1, 3).map((line) => line.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, ''));
      const located = new SyntaxError(`${error.message} (${where})`);
      located.stack = [where, ...excerpt, `SyntaxError: ${error.message} (${where})`].join('\n');
      return located;
    }
    return error;
  }
}

function makeContext(requestId) {
  const deadline = Date.now() + timeoutMs;
  return {
    awsRequestId: requestId,
    functionName,
    functionVersion,
    memoryLimitInMB: memoryMb,
    invokedFunctionArn: `arn:lambda:local:function:${functionName}:${functionVersion}`,
    logGroupName: `/lambda/${functionName}`,
    logStreamName: process.env.HOSTNAME || 'instance',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

function joinHeaders(rawHeaders) {
  const headers = {};
  const cookies = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    const value = rawHeaders[i + 1];
    if (name.startsWith('x-lambda-internal-') || name === 'connection' || name === 'keep-alive') continue;
    if (name === 'cookie') cookies.push(...value.split(';').map((c) => c.trim()).filter(Boolean));
    else headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  return { headers, cookies };
}

function httpEvent(req, body, requestId) {
  const url = new URL(req.url, 'http://function');
  const { headers, cookies } = joinHeaders(req.rawHeaders);
  const query = {};
  for (const [key, value] of url.searchParams) query[key] = key in query ? `${query[key]},${value}` : value;
  const forwardedFor = (headers['x-forwarded-for'] || '').split(',').map((s) => s.trim()).filter(Boolean);
  const host = headers['x-forwarded-host'] || headers.host || 'localhost';
  const now = new Date();
  const event = {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: 'local',
      apiId: 'lambda',
      domainName: host,
      domainPrefix: host.split('.')[0],
      http: {
        method: req.method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: forwardedFor.at(-1) || '127.0.0.1',
        userAgent: headers['user-agent'] || '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookies.length) event.cookies = cookies;
  if (url.search) event.queryStringParameters = query;
  if (body.length) {
    const text = TEXT_TYPES.test(headers['content-type'] || '');
    event.body = text ? body.toString('utf8') : body.toString('base64');
    event.isBase64Encoded = !text;
  }
  return event;
}

function sendResult(res, result) {
  if (result && typeof result === 'object' && 'statusCode' in result) {
    const headers = { ...(result.headers || {}) };
    if (Array.isArray(result.cookies) && result.cookies.length) headers['set-cookie'] = result.cookies;
    let body = result.body ?? '';
    if (typeof body !== 'string') body = JSON.stringify(body);
    const bytes = result.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    res.writeHead(Number(result.statusCode) || 200, headers);
    res.end(bytes);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(result ?? null));
}

function sendError(res, error, direct, requestId) {
  const errorType = (error && (error.name || error.constructor?.name)) || 'Error';
  const errorMessage = error instanceof Error ? error.message : String(error);
  console.error(`ERROR\tInvoke Error\t${JSON.stringify({ errorType, errorMessage, requestId, stack: error?.stack?.split('\n') })}`);
  const headers = { 'content-type': 'application/json' };
  if (direct) {
    headers[ERROR_HEADER] = 'Unhandled';
    res.writeHead(502, headers);
    res.end(JSON.stringify({ errorType, errorMessage }));
    return;
  }
  // As API Gateway does: anonymous callers learn that it failed, not why; the log has the error and its stack.
  res.writeHead(502, headers);
  res.end(JSON.stringify({ message: 'Internal Server Error', requestId }));
}

async function serve(handler) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const internal = carriesSecret(req);
      const mode = internal ? req.headers[INVOKE_HEADER] : undefined;
      if (mode === 'health') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
        return;
      }
      const body = Buffer.concat(chunks);
      if (mode === 'init') {
        initCell(req, body, res, (loaded) => (handler = loaded));
        return;
      }
      if (!handler) {
        if (mode === 'warm' && !initTried) {
          warmCell(req, body, res);
          return;
        }
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('not initialised');
        return;
      }
      const requestId = String((internal && req.headers[REQUEST_ID_HEADER]) || randomUUID());
      const direct = mode === 'direct';
      let event;
      try {
        event = direct ? JSON.parse(body.length ? body.toString('utf8') : 'null') : httpEvent(req, body, requestId);
      } catch (error) {
        sendError(res, error, direct || internal, requestId);
        return;
      }
      Promise.resolve()
        .then(() => handler(event, makeContext(requestId)))
        .then((result) => (direct ? sendDirect(res, result) : sendResult(res, result)))
        // The host's own calls (a queued HTTP call too) get the handler's error; public callers only that it failed.
        .catch((error) => sendError(res, error, direct || internal, requestId));
    });
  });
  // The host is the only client and sets its own timeouts; a connection may wait idle until the host needs it.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  dialHost(server);
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// The host listens on a socket in a folder this container can only read, and this shim dials in: the host
// never connects to a path the function controls. A few idle connections wait for the host at all times; each
// one the host starts using is replaced by a new dial.
const SPARE_CONNECTIONS = 4;

function dialHost(server) {
  const used = new WeakSet();
  let spare = 0;
  let retryMs = 10;
  const topUp = () => {
    while (spare < SPARE_CONNECTIONS) dial();
  };
  const dial = () => {
    spare += 1;
    const socket = net.connect(hostSocket);
    socket.once('connect', () => {
      retryMs = 10;
      server.emit('connection', socket);
    });
    socket.once('close', () => {
      // The host closes connections before it stops an instance: send the last lines while they can still arrive.
      output.flush();
      if (used.has(socket)) return;
      // An idle connection ended: the host restarted or went away. Dial again, backing off while nobody listens.
      spare -= 1;
      setTimeout(topUp, retryMs);
      retryMs = Math.min(retryMs * 2, 1000);
    });
    socket.on('error', () => {});
  };
  server.on('request', (req) => {
    if (used.has(req.socket)) return;
    used.add(req.socket);
    spare -= 1;
    topUp();
  });
  topUp();
}

/** True for a call of the host's: it carries this instance's secret (an instance booted without one takes none). */
const expectedSecret = Buffer.from(instanceSecret || '');
function carriesSecret(req) {
  const header = req.headers[SECRET_HEADER];
  if (header === undefined) return false;
  const given = Buffer.from(String(header));
  const expected = expectedSecret;
  return expected.length > 0 && given.length === expected.length && timingSafeEqual(given, expected);
}

// Before its init, a cell answers the host's warm-up calls through the request path a function's requests take, with
// no function and no output: what Node compiles or loads lazily on a first request (URL parsing, UUIDs, header
// checks, timers) is ready when the first real one comes.
function warmCell(req, body, res) {
  const requestId = randomUUID();
  const event = httpEvent(req, body, requestId);
  makeContext(requestId).getRemainingTimeInMillis();
  process.memoryUsage.rss();
  performance.now();
  setImmediate(() => {});
  sendResult(res, { statusCode: 200, headers: { 'x-warm': '1' }, cookies: ['warm=1'], body: { path: event.rawPath } });
}

// A cell takes one init call, the first with the right secret; any other (a second one, a wrong or missing secret,
// a classic instance) is refused and changes nothing. The call's env becomes the whole environment, as a
// container's own env would be (HOSTNAME stays: Docker sets it), then the handler loads as in a classic start.
let initTried = false;
function initCell(req, body, res, setHandler) {
  if (initTried || !isCell || !carriesSecret(req)) {
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('refused');
    return;
  }
  initTried = true;
  let env;
  try {
    env = JSON.parse(body.toString('utf8')).env;
    if (!env || typeof env !== 'object') throw new Error('no env');
  } catch (error) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`bad init: ${error.message}`, () => process.exit(1));
    return;
  }
  for (const name of Object.keys(process.env)) if (name !== 'HOSTNAME') delete process.env[name];
  for (const [name, value] of Object.entries(env)) process.env[name] = String(value);
  readSettings();
  loadHandler().then(
    (loaded) => {
      setHandler(loaded);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    },
    (error) => {
      const text = error instanceof Error ? error.stack || error.message : String(error);
      console.error(`ERROR\tInit Error\t${text}`);
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(text, () => process.exit(1));
    },
  );
}

function sendDirect(res, result) {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(result ?? null));
}

process.on('unhandledRejection', (error) => {
  console.error('ERROR\tUnhandled Promise Rejection\t', error);
});

try {
  // A cell sets up Node's module loader now, while nobody waits: its first import() costs milliseconds.
  if (isCell) await import('data:text/javascript,export default 0');
  await serve(isCell ? undefined : await loadHandler());
} catch (error) {
  console.error(`ERROR\tInit Error\t${error instanceof Error ? error.stack || error.message : String(error)}`);
  process.exit(1);
}
