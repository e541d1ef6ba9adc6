// End to end, what hostile clients hold is given back when they go: 40 uploads that declare 6 MB and stall before their
// last KB (filling the body budget) and 200 connections that send half a request head and then nothing are let go, and
// the server's own gauges say the bodies' bytes are back at 0 and its open connections back to what they were.
import http from 'node:http';
import net from 'node:net';
import test from 'ava';
import { requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';
import { readScrape } from '../helpers/prometheus.js';

const STALLED_UPLOADS = 40;
const HALF_OPEN = 200;
const UPLOAD_BYTES = 6 * 1024 * 1024;
const BUDGET = 64 * 1024 * 1024;
const HANDLER = 'export const handler = async () => ({ ok: true });\n';

let lambda: Lambda | undefined;

test.before(async () => {
  await requireDocker();
  // The server's own timeouts are long here: only the clients' going away can release what they hold.
  lambda = await startLambda({ LAMBDA_BODY_IDLE_TIMEOUT: '5m', LAMBDA_HEADERS_TIMEOUT: '5m', LAMBDA_REQUEST_TIMEOUT: '10m', LAMBDA_BODY_BUDGET: '64Mi' });
  const body = { runtime: 'node20', handler: 'index.handler', files: { 'index.mjs': Buffer.from(HANDLER).toString('base64') } };
  const res = await request(lambda, 'PUT', '/api/v1/functions/sink', { authorization: `Bearer ${lambda.key}`, 'content-type': 'application/json' }, Buffer.from(JSON.stringify(body)));
  if (res.status >= 300) throw new Error(`registering sink: ${res.status} ${res.text}`);
});

test.after.always(async () => {
  await lambda?.destroy();
});

/** A request over a connection of its own that closes after the answer: no client connection outlives the call. */
function request(server: Lambda, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path, agent: false, headers: { ...headers, connection: 'close' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The two gauges (the scrape's own connection counts itself: the baseline's did too). */
async function held(server: Lambda): Promise<{ bodyBytes: number; connections: number }> {
  const { status, text } = await request(server, 'GET', '/metrics', { authorization: `Bearer ${server.key}` });
  if (status !== 200) throw new Error(`/metrics answered ${status}: ${text}`);
  const scrape = readScrape(text);
  return { bodyBytes: scrape.value('lambda_body_bytes_held', {}) ?? -1, connections: scrape.value('lambda_client_connections', {}) ?? -1 };
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  return socket;
}

/** Polls (bounded) until `ok` holds of the gauges; returns the last reading either way. */
async function until(server: Lambda, ok: (reading: { bodyBytes: number; connections: number }) => boolean): Promise<{ bodyBytes: number; connections: number }> {
  let reading = await held(server);
  for (let i = 0; i < 120 && !ok(reading); i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    reading = await held(server);
  }
  return reading;
}

test('stalled uploads and half-open connections give back their bodies and connections when the clients go', async (t) => {
  const server = lambda as Lambda;
  // The function answers before anything hostile starts: its instance's connections are not clients'.
  t.is((await request(server, 'GET', '/fn/sink/')).status, 200);
  const baseline = await until(server, (reading) => reading.bodyBytes === 0 && reading.connections === 1);
  t.deepEqual(baseline, { bodyBytes: 0, connections: 1 }, 'nothing but the scrape itself');

  const sockets: net.Socket[] = [];
  const almost = Buffer.alloc(UPLOAD_BYTES - 1024, 'x');
  for (let i = 0; i < STALLED_UPLOADS; i++) {
    const socket = await connect(server.port);
    sockets.push(socket);
    socket.write(`POST /fn/sink/ HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: ${UPLOAD_BYTES}\r\n\r\n`);
    socket.write(almost);
  }
  for (let i = 0; i < HALF_OPEN; i++) {
    const socket = await connect(server.port);
    sockets.push(socket);
    socket.write(i % 2 === 0 ? 'GET /fn/' : 'GET /fn/sink/ HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ');
  }

  // While they hold on: the budget is (nearly) full and never over, and every half-open connection is counted.
  const holding = await until(server, (reading) => reading.bodyBytes >= BUDGET - UPLOAD_BYTES && reading.connections >= baseline.connections + HALF_OPEN);
  t.true(holding.bodyBytes >= BUDGET - UPLOAD_BYTES, `bodies being received: ${holding.bodyBytes} bytes`);
  t.true(holding.bodyBytes <= BUDGET, `bodies being received: ${holding.bodyBytes} bytes`);
  t.true(holding.connections >= baseline.connections + HALF_OPEN, `open connections: ${holding.connections}`);

  for (const socket of sockets) socket.destroy();
  const after = await until(server, (reading) => reading.bodyBytes === 0 && reading.connections === baseline.connections);
  t.is(after.bodyBytes, 0, 'the bodies of uploads whose clients left are released');
  t.is(after.connections, baseline.connections, 'no connection of a client that left stays open');

  // And the server still takes a whole upload afterwards: the budget was given back, not lost.
  t.is((await request(server, 'POST', '/fn/sink/', {}, Buffer.alloc(UPLOAD_BYTES - 1024, 'y'))).status, 200);
});

test.serial('bodies waiting for a busy function count against the body budget until answered: beyond it, 503', async (t) => {
  const server = lambda as Lambda;
  // One instance, one call at a time, each 3 s: the bodies of the others wait in the server meanwhile.
  const slow = 'export const handler = async () => { await new Promise((r) => setTimeout(r, 3000)); return { ok: true }; };\n';
  const body = { runtime: 'node20', handler: 'index.handler', concurrency: 1, maxInstances: 1, files: { 'index.mjs': Buffer.from(slow).toString('base64') } };
  const registered = await request(server, 'PUT', '/api/v1/functions/slow', { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' }, Buffer.from(JSON.stringify(body)));
  t.true(registered.status < 300, registered.text);
  // 16 bodies of 6 MB (96 MB) sent together against a 64 MiB budget.
  const upload = Buffer.alloc(UPLOAD_BYTES, 'x');
  const calls = Array.from({ length: 16 }, () => request(server, 'POST', '/fn/slow/', { 'content-type': 'application/octet-stream' }, upload).catch(() => ({ status: 0, text: '' })));
  const waiting = await until(server, (now) => now.bodyBytes >= 2 * UPLOAD_BYTES);
  const answers = await Promise.all(calls);
  t.true(waiting.bodyBytes >= 2 * UPLOAD_BYTES && waiting.bodyBytes <= BUDGET, `bodies held while waiting: ${waiting.bodyBytes}`);
  t.true(answers.some((answer) => answer.status === 503 && answer.text.includes('LAMBDA_ERR_SERVER_BUSY')), `statuses: ${answers.map((a) => a.status).join(',')}`);
  t.true(answers.some((answer) => answer.status === 200), `statuses: ${answers.map((a) => a.status).join(',')}`);
  const after = await until(server, (now) => now.bodyBytes === 0);
  t.is(after.bodyBytes, 0, 'every body released once its request was answered');
});
