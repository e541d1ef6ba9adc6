// Git over HTTP's refusals as git shows them: plain text lines, with a pointer when the URL lacks `.git`.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { createGitHttp } from './http.js';
import { createRepos } from './repos.js';

const test = anyTest as TestFn<{ root: string; server: Server; url: string }>;

test.beforeEach(async (t) => {
  t.context.root = await mkdtemp(join(tmpdir(), 'lambda-git-http-'));
  const repos = createRepos(join(t.context.root, 'repos'), join(import.meta.dirname, '../../hooks/pre-receive'), join(t.context.root, 'control.sock'), {
    maxPackBytes: 1024 * 1024,
  });
  const handle = createGitHttp(repos, (key) => key === 'right', () => false);
  t.context.server = createServer((req, res) => void handle(req, res, req.url ?? '/'));
  await new Promise<void>((resolve) => t.context.server.listen(0, '127.0.0.1', resolve));
  t.context.url = `http://127.0.0.1:${(t.context.server.address() as AddressInfo).port}`;
});

test.afterEach.always(async (t) => {
  t.context.server.closeAllConnections();
  await new Promise<void>((resolve) => t.context.server.close(() => resolve()));
  await rm(t.context.root, { recursive: true, force: true });
});

test('a repository URL without .git is answered with the one it meant, as text git shows', async (t) => {
  const res = await fetch(`${t.context.url}/git/greet/info/refs?service=git-receive-pack`);
  t.is(res.status, 404);
  t.is(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.regex(await res.text(), /^.*no route for GET \/git\/greet\/info\/refs: did you mean \/git\/greet\.git\? \(LAMBDA_ERR_ROUTE_NOT_FOUND\)\n$/);
});

test('a path with no function in it gets no guess', async (t) => {
  const res = await fetch(`${t.context.url}/git/`);
  t.is(res.status, 404);
  const text = await res.text();
  t.regex(text, /no route for GET \/git\/ \(LAMBDA_ERR_ROUTE_NOT_FOUND\)\n$/);
  t.notRegex(text, /did you mean/);
});

test("a wrong key is told how git gives one (as the password), not the REST API's Bearer advice", async (t) => {
  const res = await fetch(`${t.context.url}/git/greet.git/info/refs?service=git-upload-pack`, { headers: { authorization: `Basic ${Buffer.from('lambda:wrong').toString('base64')}` } });
  t.is(res.status, 401);
  t.regex(await res.text(), /a valid API token is required: run `lambda login URL` and `lambda setup-git` once, or give the key as the password \(LAMBDA_ERR_UNAUTHORIZED\)\n$/);
});
