// The install container's only way out: CONNECT to the registry's host:port, never to loopback or private
// addresses; and one size-bounded PUT of the installed files. Real sockets, in process.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { isPublicAddress, openTunnel, parseTarget, TunnelRefused, type EgressRules } from './registry-proxy.js';
import { serveInstallSocket } from './socket.js';

const address = test.macro({
  exec(t, ip: string, expected: boolean) {
    t.is(isPublicAddress(ip), expected);
  },
  title: (_label, ip: string, expected: boolean) => `${ip} is ${expected ? 'public' : 'refused'}`,
});

for (const ip of ['127.0.0.1', '127.8.9.10', '0.0.0.0', '10.1.2.3', '172.16.0.1', '172.31.255.254', '192.168.1.1', '169.254.169.254', '100.64.0.1', '224.0.0.1', '255.255.255.255', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '64:ff9b::127.0.0.1', '64:ff9b::a00:1', 'not-an-ip']) {
  test(address, ip, false);
}
for (const ip of ['104.16.0.35', '172.32.0.1', '2606:4700::6810:1', '::ffff:104.16.0.35', '64:ff9b::104.16.0.35']) {
  test(address, ip, true);
}
test('this host\'s own interface addresses are refused', (t) => {
  const own = Object.values(os.networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((entry) => entry.address);
  for (const ip of own) t.false(isPublicAddress(ip), ip);
});

test('CONNECT targets parse with names, IPv4 and bracketed IPv6, and nothing else', (t) => {
  t.deepEqual(parseTarget('Registry.NPMjs.org.:443'), { host: 'registry.npmjs.org', port: 443 });
  t.deepEqual(parseTarget('[::1]:443'), { host: '::1', port: 443 });
  for (const bad of ['registry.npmjs.org', 'a:0', 'a:70000', 'a b:443', 'http://a:443', 'a:443/x', '']) t.is(parseTarget(bad), undefined, bad);
});

const rules: EgressRules = { host: 'registry.example', port: 443, lookup: async () => ['104.16.0.35'] };

const refused = test.macro({
  async exec(t, target: string, extra: Partial<EgressRules>, message: RegExp) {
    const error = await t.throwsAsync(openTunnel(target, { ...rules, ...extra }), { instanceOf: TunnelRefused });
    t.regex(error?.message ?? '', message);
    t.is(error?.status, 403);
  },
  title: (label = '') => `a tunnel is refused to ${label}`,
});

test('another host', refused, 'evil.example:443', {}, /only registry\.example:443/);
test('another port of the registry', refused, 'registry.example:22', {}, /only registry\.example:443/);
test('loopback, even on the registry port', refused, '127.0.0.1:443', {}, /only registry\.example:443/);
test('the registry name when it resolves to loopback', refused, 'registry.example:443', { lookup: async () => ['127.0.0.1'] }, /loopback or private/);
test('the registry name when one of its addresses is private', refused, 'registry.example:443', { lookup: async () => ['104.16.0.35', '10.0.0.7'] }, /loopback or private/);

async function tcpEcho(): Promise<{ port: number; server: net.Server }> {
  const server = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, server };
}

function tempSocket(t: { teardown(fn: () => void): void }): { dir: string; socket: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-proxy-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return { dir, socket: path.join(dir, 'proxy.sock') };
}

/** Sends a raw CONNECT over the Unix socket, as the bridge in the container forwards npm's. */
function connectThrough(socketPath: string, target: string): Promise<{ status: number; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath, () => socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), socket });
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

test('the install socket tunnels to the registry and refuses the rest, telling the build why', async (t) => {
  const echo = await tcpEcho();
  t.teardown(() => echo.server.close());
  const { dir, socket } = tempSocket(t);
  const told: string[] = [];
  const served = await serveInstallSocket(socket, {
    egress: { host: 'registry.test', port: echo.port, lookup: async () => ['127.0.0.1'], allowAddress: () => true },
    outputFile: path.join(dir, 'out.tar'),
    maxOutputBytes: 1024,
    onRefused: (message) => told.push(message),
  });
  t.teardown(() => served.close());
  t.is(fs.statSync(socket).mode & 0o777, 0o666);

  const open = await connectThrough(socket, `registry.test:${echo.port}`);
  t.is(open.status, 200);
  const answer = new Promise<string>((resolve) => open.socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  open.socket.write('ping');
  t.is(await answer, 'ping');
  open.socket.destroy();

  const other = await connectThrough(socket, `127.0.0.1:${echo.port}`);
  t.is(other.status, 403);
  other.socket.destroy();
  t.is(told.length, 1);
  t.regex(told[0], /only registry\.test:\d+/);

  // Plain proxy requests (GET http://…) are not tunnels: refused.
  const plain = await fetchOverSocket(socket, 'GET', `http://127.0.0.1:${echo.port}/x.tgz`);
  t.is(plain.status, 405);
});

function fetchOverSocket(socketPath: string, method: string, pathname: string, body?: Buffer): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: pathname }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('the installed files arrive once, and not over the size limit', async (t) => {
  const { dir, socket } = tempSocket(t);
  const output = path.join(dir, 'out.tar');
  const served = await serveInstallSocket(socket, { egress: rules, outputFile: output, maxOutputBytes: 1024, onRefused: () => {} });
  t.teardown(() => served.close());
  t.is((await fetchOverSocket(socket, 'PUT', '/output', Buffer.alloc(1000, 1))).status, 204);
  t.is(served.received(), 1000);
  t.is(fs.statSync(output).size, 1000);
  t.is((await fetchOverSocket(socket, 'PUT', '/output', Buffer.alloc(10))).status, 409, 'one output only');

  const { dir: dir2, socket: socket2 } = tempSocket(t);
  const output2 = path.join(dir2, 'out.tar');
  let refused: () => void = () => {};
  const wasRefused = new Promise<void>((resolve) => (refused = resolve));
  const small = await serveInstallSocket(socket2, { egress: rules, outputFile: output2, maxOutputBytes: 1024, onRefused: () => refused() });
  t.teardown(() => small.close());
  const over = await fetchOverSocket(socket2, 'PUT', '/output', Buffer.alloc(4096, 1)).catch(() => ({ status: 0 }));
  t.not(over.status, 204);
  // The client may see its connection cut before the server has dealt with the output: wait for the refusal itself.
  await wasRefused;
  t.is(small.received(), undefined);
  t.false(fs.existsSync(output2), 'an oversized output is removed');
});

test('with the host\'s own proxy, the tunnel is asked of it (with its credentials), not dialled directly', async (t) => {
  const echo = await tcpEcho();
  t.teardown(() => echo.server.close());
  const asked: string[] = [];
  // A minimal upstream proxy: records the CONNECT head, then joins the client to the echo server.
  const upstream = net.createServer((client) => {
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      client.off('data', onData);
      asked.push(head);
      const next = net.connect(echo.port, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 OK\r\n\r\n');
        client.pipe(next);
        next.pipe(client);
      });
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  t.teardown(() => upstream.close());
  const proxyPort = (upstream.address() as net.AddressInfo).port;

  const tunnel = await openTunnel('registry.example:443', { ...rules, upstream: new URL(`http://me:secret@127.0.0.1:${proxyPort}`) });
  const answer = new Promise<string>((resolve) => tunnel.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  tunnel.write('through');
  t.is(await answer, 'through');
  tunnel.destroy();
  t.regex(asked[0], /^CONNECT registry\.example:443 HTTP\/1\.1\r\n/);
  t.regex(asked[0], new RegExp(`Proxy-Authorization: Basic ${Buffer.from('me:secret').toString('base64')}`));
});
