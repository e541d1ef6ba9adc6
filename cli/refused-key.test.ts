// A refused API token is answered with where the key comes from, and which one was used: LAMBDA_API_KEY or the saved login.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import anyTest, { type TestFn } from 'ava';
import type { Env, Io } from './io.js';
import { run } from './main.js';
import { writeConfig } from './config.js';

const test = anyTest as TestFn<{ dir: string; server: Server; url: string; config: string }>;
const KEY = 'the-right-key-0123456789';

test.beforeEach(async (t) => {
  t.context.dir = await mkdtemp(join(tmpdir(), 'lambda-cli-refused-'));
  t.context.config = join(t.context.dir, 'config.json');
  t.context.server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.headers.authorization !== `Bearer ${KEY}`) {
      res.writeHead(401).end(JSON.stringify({ error: { code: 'LAMBDA_ERR_UNAUTHORIZED', message: 'a valid API token is required: send its key as `Authorization: Bearer <key>`' } }));
      return;
    }
    res.writeHead(200).end(JSON.stringify({ functions: [] }));
  });
  await new Promise<void>((resolve) => t.context.server.listen(0, '127.0.0.1', resolve));
  t.context.url = `http://127.0.0.1:${(t.context.server.address() as AddressInfo).port}`;
});

test.afterEach.always(async (t) => {
  t.context.server.closeAllConnections();
  await new Promise<void>((resolve) => t.context.server.close(() => resolve()));
  await rm(t.context.dir, { recursive: true, force: true });
});

async function lambda(t: { context: { config: string } }, argv: string[], env: Env = {}): Promise<{ status: number; stderr: string }> {
  let stderr = '';
  const io: Io = {
    stdout: { write: () => true },
    stderr: { write: (text: string) => ((stderr += text), true) },
    stdin: Readable.from([]),
    env: { LAMBDA_CONFIG: t.context.config, ...env },
  };
  return { status: await run(argv, io), stderr };
}

const WHERE = "the admin key is printed once by the server's first start (`Admin API key`), else it is the server's LAMBDA_API_KEY";

test('login with a wrong --key says where the key comes from', async (t) => {
  const { status, stderr } = await lambda(t, ['login', t.context.url, '--key', 'wrong']);
  t.is(status, 3);
  t.is(stderr, ` !     a valid API token is required: ${WHERE} (LAMBDA_ERR_UNAUTHORIZED)\n`);
});

test('login refusing LAMBDA_API_KEY says the variable was used', async (t) => {
  const { status, stderr } = await lambda(t, ['login', t.context.url], { LAMBDA_API_KEY: 'stale' });
  t.is(status, 3);
  t.is(
    stderr,
    ` !     a valid API token is required: the key came from LAMBDA_API_KEY in this environment (lambda login takes it before asking); unset it or give the right one; ${WHERE} (LAMBDA_ERR_UNAUTHORIZED)\n`,
  );
});

test('a command whose LAMBDA_API_KEY is refused says it overrode the saved login', async (t) => {
  await writeConfig(t.context.config, { url: t.context.url, apiKey: KEY });
  const { status, stderr } = await lambda(t, ['list'], { LAMBDA_API_KEY: 'stale' });
  t.is(status, 3);
  t.is(
    stderr,
    ` !     a valid API token is required: LAMBDA_API_KEY in this environment overrode the saved login (${t.context.config}); unset it to use the saved key (LAMBDA_ERR_UNAUTHORIZED)\n`,
  );
});

test('a refused saved login says to log in again', async (t) => {
  await writeConfig(t.context.config, { url: t.context.url, apiKey: 'old' });
  const { status, stderr } = await lambda(t, ['list']);
  t.is(status, 3);
  t.is(stderr, ` !     a valid API token is required: the saved login's key (${t.context.config}) was refused; run \`lambda login ${t.context.url}\` again; ${WHERE} (LAMBDA_ERR_UNAUTHORIZED)\n`);
});

test('a refused LAMBDA_API_KEY with no saved login says where it came from', async (t) => {
  const { status, stderr } = await lambda(t, ['list', '--json'], { LAMBDA_API_KEY: 'stale', LAMBDA_URL: t.context.url });
  t.is(status, 3);
  t.deepEqual(JSON.parse(stderr), {
    error: { code: 'LAMBDA_ERR_UNAUTHORIZED', message: `a valid API token is required: the key came from LAMBDA_API_KEY in this environment; ${WHERE}` },
  });
});
