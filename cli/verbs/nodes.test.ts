// In-process tests of `lambda nodes` against a real HTTP server speaking the nodes API's contract: the table, the
// JSON, what is sent, and a host name that would move the terminal's cursor.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { runCli } from '../../test/helpers/cli.js';

const test = anyTest as TestFn<{ server: Server; url: string; paths: string[] }>;

const NODES = [
  { id: 'k3x9q2m7w1ab4cd5', hostname: 'manager-1', role: 'manager', state: 'ready', availability: 'active', engineVersion: '20.10.24', instances: 2, cells: 1 },
  { id: 'p0z8y7x6w5v4u3t2', hostname: 'worker-1\u001b[2J', role: 'worker', state: 'down', availability: 'drain', engineVersion: '20.10.24', instances: 0, cells: 0 },
];

test.beforeEach(async (t) => {
  t.context.paths = [];
  t.context.server = createServer((req, res) => {
    t.context.paths.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ nodes: NODES }));
  });
  await new Promise<void>((resolve) => t.context.server.listen(0, '127.0.0.1', resolve));
  t.context.url = `http://127.0.0.1:${(t.context.server.address() as AddressInfo).port}`;
});

test.afterEach.always(async (t) => {
  t.context.server.closeAllConnections();
  await new Promise<void>((resolve) => t.context.server.close(() => resolve()));
});

test('one aligned row per node; a control character in a host name is shown escaped', async (t) => {
  const result = await runCli(['nodes'], t.context.url, 'key');
  t.is(result.status, 0, result.stderr);
  t.is(
    result.stdout,
    [
      'ID            HOSTNAME         ROLE     STATE  AVAILABILITY  ENGINE    INSTANCES  CELLS',
      'k3x9q2m7w1ab  manager-1        manager  ready  active        20.10.24  2          1',
      'p0z8y7x6w5v4  worker-1\\x1b[2J  worker   down   drain         20.10.24  0          0',
      '',
    ].join('\n'),
  );
  t.deepEqual(t.context.paths, ['GET /api/v1/nodes']);
});

test('--json: the API objects as they are', async (t) => {
  const result = await runCli(['--json', 'nodes'], t.context.url, 'key');
  t.is(result.status, 0, result.stderr);
  t.deepEqual(JSON.parse(result.stdout), NODES);
});
