// The connection to the host: dials host.sock, serves HTTP/1.1 on what it dialled, routes each request.
import http from 'node:http';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { initCell, initTried, warmCell } from './cell.mjs';
import { httpEvent, makeContext, sendDirect, sendError, sendResult } from './event.mjs';
import { output } from './output.mjs';
import { INVOKE_HEADER, REQUEST_ID_HEADER, carriesSecret, gateway, hostSocket } from './settings.mjs';
import { dialGateway } from './gateway.mjs';

export async function serve(handler) {
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
    const socket = gateway ? dialGateway() : net.connect(hostSocket);
    socket.once(gateway ? 'secureConnect' : 'connect', () => {
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

