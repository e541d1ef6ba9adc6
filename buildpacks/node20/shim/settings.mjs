// What the host tells this instance: its secret, whether it is a cell, its sockets, the function's settings.
import fs from 'node:fs';
import path from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import { isatty } from 'node:tty';

// The host marks its own calls with these headers (server/instances/protocol.ts); the gateway also strips them from public traffic.
export const INVOKE_HEADER = 'x-lambda-internal-invoke';
export const REQUEST_ID_HEADER = 'x-lambda-internal-request-id';
export const ERROR_HEADER = 'x-lambda-internal-error';
export const SECRET_HEADER = 'x-lambda-internal-secret';

// Every instance boots with a secret from the host: the first line of stdin, which the host writes once and then
// closes, so it is in no environment block (/proc/*/environ) and stdin holds nothing more for function code. The
// host's own calls (health, direct invokes, a stem cell's warm-up and init) carry it; a call without it is public
// traffic, whatever x-lambda-internal-* headers it sends. A stem cell (server/instances/cells/cells.ts) boots with no
// function, and the host's one init call brings the rest.
const instanceSecret = readSecret();
export const isCell = process.env.LAMBDA_CELL === '1';
delete process.env.LAMBDA_CELL;
export const socketDir = process.env.LAMBDA_SOCKET_DIR || '/run/lambda';
export const hostSocket = path.join(socketDir, 'host.sock');

// A cell learns its function's settings only at its init, so they are read again then; importers see the new values.
export let taskRoot, handlerSpec, functionName, functionVersion, timeoutMs, memoryMb;
export function readSettings() {
  taskRoot = process.env.LAMBDA_TASK_ROOT || '/var/task';
  handlerSpec = process.env.LAMBDA_HANDLER || 'index.handler';
  functionName = process.env.LAMBDA_FUNCTION_NAME || 'function';
  functionVersion = process.env.LAMBDA_FUNCTION_VERSION || '$LATEST';
  timeoutMs = Number(process.env.LAMBDA_TIMEOUT_MS || 10000);
  memoryMb = process.env.LAMBDA_MEMORY_MB || '256';
}
readSettings();

// On a swarm the instance runs on another machine than the host: it dials the gateway over TLS (LAMBDA_GATEWAY, e.g.
// tls://lambda-gateway:7443), trusting only the platform's authority, and proves itself by its first line: its id and
// its secret. A swarm task has no stdin: the secret is a swarm secret's file instead, on a tmpfs only this task sees.
export const gateway = process.env.LAMBDA_GATEWAY ? new URL(process.env.LAMBDA_GATEWAY) : undefined;
export const gatewayAuthority = process.env.LAMBDA_GATEWAY_AUTHORITY || '/run/lambda/authority.pem';
/** The name the relay's certificate must carry (the address's own unless said). */
export const gatewayName = process.env.LAMBDA_GATEWAY_NAME || gateway?.hostname;
/** What an instance dialling over the network says first (the host's own socket needs no such line: it is the instance's alone). */
export const dialInLine = (channel = '') => `${process.env.LAMBDA_INSTANCE_ID || ''} ${instanceSecret}${channel}\n`;

/** The first line of stdin (at most 256 bytes), read before anything else runs; '' when there is none. */
function readSecret() {
  if (process.env.LAMBDA_SECRET_FILE) {
    try {
      return fs.readFileSync(process.env.LAMBDA_SECRET_FILE, 'utf8').split('\n')[0].trim();
    } catch {
      return '';
    }
  }
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

/** True for a call of the host's: it carries this instance's secret (an instance booted without one takes none). */
const expectedSecret = Buffer.from(instanceSecret || '');
export function carriesSecret(req) {
  const header = req.headers[SECRET_HEADER];
  if (header === undefined) return false;
  const given = Buffer.from(String(header));
  const expected = expectedSecret;
  return expected.length > 0 && given.length === expected.length && timingSafeEqual(given, expected);
}
