// What `lambda deploy` refuses to pack, and how it says so: no lambda.yaml, sockets, FIFOs; never a silent exit.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import anyTest, { type TestFn } from 'ava';
import type { Io } from './io.js';
import { run } from './main.js';
import { entriesToPack } from './pack.js';

const test = anyTest as TestFn<{ dir: string; servers: Server[] }>;

test.beforeEach(async (t) => {
  t.context.dir = await mkdtemp(join(tmpdir(), 'lambda-cli-pack-'));
  t.context.servers = [];
  await writeFile(join(t.context.dir, 'lambda.yaml'), 'runtime: node20\nhandler: index.handler\n');
  await writeFile(join(t.context.dir, 'index.js'), 'export const handler = async () => ({});\n');
});

test.afterEach.always(async (t) => {
  for (const server of t.context.servers) server.close();
  await rm(t.context.dir, { recursive: true, force: true });
});

function capture(): { io: Io; stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  return {
    // Port 9 on loopback: nothing answers, so a request that should not be sent fails loudly.
    io: {
      stdout: { write: (text: string) => ((stdout += text), true) },
      stderr: { write: (text: string) => ((stderr += text), true) },
      stdin: Readable.from([]),
      env: { LAMBDA_URL: 'http://127.0.0.1:9', LAMBDA_API_KEY: 'k', LAMBDA_CONFIG: '/nonexistent/config.json' },
    },
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

async function listenOn(t: { context: { servers: Server[] } }, path: string): Promise<void> {
  const server = createServer();
  t.context.servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
}

test('a socket in the folder is refused by its path, before anything is packed or sent', async (t) => {
  await mkdir(join(t.context.dir, 'run'));
  const socket = join(t.context.dir, 'run', 'app.sock');
  await listenOn(t, socket);
  const out = capture();
  t.is(await run(['deploy', t.context.dir, '--name', 'greet'], out.io), 2);
  t.is(out.stderr(), ` !     ${socket} is a socket: deploy packs only files, folders and symbolic links; move it out of ${t.context.dir}\n`);
  t.is(out.stdout(), '');
});

test('a socket is refused with --json too, as one JSON line', async (t) => {
  const socket = join(t.context.dir, 'app.sock');
  await listenOn(t, socket);
  const out = capture();
  t.is(await run(['deploy', t.context.dir, '--name', 'greet', '--json'], out.io), 2);
  t.deepEqual(JSON.parse(out.stderr()), {
    error: { code: null, message: `${socket} is a socket: deploy packs only files, folders and symbolic links; move it out of ${t.context.dir}` },
  });
});

test('a FIFO is refused by its path rather than blamed on the upload', async (t) => {
  const fifo = join(t.context.dir, 'pipe');
  execFileSync('mkfifo', [fifo]);
  await t.throwsAsync(entriesToPack(t.context.dir), { message: `${fifo} is a FIFO: deploy packs only files, folders and symbolic links; move it out of ${t.context.dir}` });
});

test('a socket inside .git is never packed, so it is not refused', async (t) => {
  await mkdir(join(t.context.dir, '.git'));
  await listenOn(t, join(t.context.dir, '.git', 'fsmonitor.sock'));
  t.deepEqual(await entriesToPack(t.context.dir), ['index.js', 'lambda.yaml']);
});

test('a folder without lambda.yaml is refused locally with the server\'s code, and nothing is sent', async (t) => {
  await rm(join(t.context.dir, 'lambda.yaml'));
  const out = capture();
  t.is(await run(['deploy', t.context.dir, '--name', 'greet'], out.io), 2);
  t.is(
    out.stderr(),
    ` !     lambda.yaml is missing in ${t.context.dir}: every function needs one at its root (see \`lambda validate\`) (LAMBDA_ERR_MANIFEST_MISSING)\n`,
  );
  t.is(out.stdout(), '');
});
