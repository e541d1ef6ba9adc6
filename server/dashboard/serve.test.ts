// The dashboard's server side through the real listener: pages, assets, the headers on every answer, and no way out
// of the assets folder.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createHttpServer } from '../listener.js';
import { CONTENT_SECURITY_POLICY, createDashboard } from './serve.js';

const SECRET = 'SECRET-CONTENTS-never-served';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends `target` exactly as written (fetch and URL would resolve the dots first). */
function get(port: number, target: string, method = 'GET', host = 'dashboard.lambda.test'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, method, headers: { host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A built dashboard in a temporary folder, with a secret beside it and traps inside its assets. */
function builtDashboard(): { root: string; dir: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-dashboard-'));
  const dir = path.join(root, 'dist', 'dashboard');
  fs.mkdirSync(path.join(dir, 'assets', 'sub'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Lambda</title>');
  fs.writeFileSync(path.join(dir, 'assets', 'app-ABC.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'assets', 'style-ABC.css'), 'body{}');
  fs.writeFileSync(path.join(dir, 'assets', 'notes.txt'), SECRET);
  fs.writeFileSync(path.join(dir, 'assets', 'sub', 'deep.js'), SECRET);
  fs.writeFileSync(path.join(root, 'secret.js'), SECRET);
  fs.writeFileSync(path.join(root, 'dist', 'secret.js'), SECRET);
  fs.symlinkSync(path.join(root, 'secret.js'), path.join(dir, 'assets', 'link.js'));
  return { root, dir };
}

async function serve(dir: string): Promise<{ port: number; close(): Promise<void> }> {
  const notHere = async () => {
    throw new Error('not this surface');
  };
  const server = createHttpServer({
    domain: 'lambda.test',
    forward: notHere,
    api: notHere,
    git: notHere,
    dashboard: createDashboard({ dir }),
    headersTimeoutMs: 5000,
    requestTimeoutMs: 5000,
    sendTimeoutMs: 5000,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function fenced(t: { is(a: unknown, b: unknown, message?: string): void }, answer: Answer, what: string): void {
  t.is(answer.headers['content-security-policy'], CONTENT_SECURITY_POLICY, `CSP on ${what}`);
  t.is(answer.headers['x-content-type-options'], 'nosniff', what);
  t.is(answer.headers['referrer-policy'], 'no-referrer', what);
  t.is(answer.headers['x-frame-options'], 'DENY', what);
}

test('pages get index.html and assets their type, each with the security headers', async (t) => {
  const { root, dir } = builtDashboard();
  const server = await serve(dir);
  t.teardown(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  for (const page of ['/dashboard', '/dashboard/', '/dashboard/functions/greet', '/dashboard/functions/greet?window=24h']) {
    const answer = await get(server.port, page);
    t.is(answer.status, 200, page);
    t.is(answer.headers['content-type'], 'text/html; charset=utf-8', page);
    t.is(answer.headers['cache-control'], 'no-cache', page);
    t.is(answer.body, '<!doctype html><title>Lambda</title>', page);
    fenced(t, answer, page);
  }
  const script = await get(server.port, '/dashboard/assets/app-ABC.js');
  t.is(script.status, 200);
  t.is(script.headers['content-type'], 'text/javascript; charset=utf-8');
  t.is(script.headers['cache-control'], 'public, max-age=31536000, immutable');
  t.is(script.body, 'console.log(1)');
  fenced(t, script, 'the script');
  const style = await get(server.port, '/dashboard/assets/style-ABC.css');
  t.is(style.headers['content-type'], 'text/css; charset=utf-8');
  const head = await get(server.port, '/dashboard/assets/app-ABC.js', 'HEAD');
  t.is(head.status, 200);
  t.is(head.body, '');
  const posted = await get(server.port, '/dashboard/', 'POST');
  t.is(posted.status, 404);
  fenced(t, posted, 'a refused method');
});

test('no request reaches a file outside the assets, or one in them that is not an asset', async (t) => {
  const { root, dir } = builtDashboard();
  const server = await serve(dir);
  t.teardown(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const attacks = [
    '/dashboard/assets/../../secret.js',
    '/dashboard/assets/../secret.js',
    '/dashboard/assets/../../../secret.js',
    '/dashboard/assets/%2e%2e/%2e%2e/secret.js',
    '/dashboard/assets/%2E%2E/%2E%2E/%2E%2E/secret.js',
    '/dashboard/assets/..%2f..%2fsecret.js',
    '/dashboard/assets/..%2F..%2F..%2Fsecret.js',
    '/dashboard/assets/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.js',
    '/dashboard/assets/%252e%252e%252f%252e%252e%252fsecret.js',
    '/dashboard/assets/..\\..\\secret.js',
    '/dashboard/assets/..%5c..%5csecret.js',
    '/dashboard/assets//etc/passwd',
    '/dashboard/assets/%2fetc%2fpasswd',
    '/dashboard/assets/app-ABC.js%00.png',
    '/dashboard/assets/notes.txt',
    '/dashboard/assets/sub/deep.js',
    '/dashboard/assets/sub%2fdeep.js',
    '/dashboard/assets/link.js',
    '/dashboard/../secret.js',
    '/dashboard/%2e%2e/secret.js',
    '/dashboard/..%2fsecret.js',
  ];
  for (const attack of attacks) {
    const answer = await get(server.port, attack);
    t.false(answer.body.includes(SECRET), attack);
    t.true(answer.status === 404 || answer.body === '<!doctype html><title>Lambda</title>', `${attack}: ${answer.status}`);
    fenced(t, answer, attack);
  }
  // The dots name nothing inside the assets either: only exact names are served.
  t.is((await get(server.port, '/dashboard/assets/./app-ABC.js')).status, 404);
});

test('before the dashboard is built it answers 503 with the catalogue code, and serves it once built', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-dashboard-'));
  const dir = path.join(root, 'dist', 'dashboard');
  const server = await serve(dir);
  t.teardown(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const missing = await get(server.port, '/dashboard');
  t.is(missing.status, 503);
  t.is((JSON.parse(missing.body) as { error: { code: string } }).error.code, 'LAMBDA_ERR_DASHBOARD_NOT_BUILT');
  fenced(t, missing, 'the 503');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'index.html'), 'built');
  const built = await get(server.port, '/dashboard');
  t.is(built.status, 200);
  t.is(built.body, 'built');
});

test('the dashboard answers only on its own host; the control origin sends its old addresses there', async (t) => {
  const { root, dir } = builtDashboard();
  const server = await serve(dir);
  t.teardown(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const moved = await get(server.port, '/dashboard/functions/greet?window=24h', 'GET', `lambda.test:${server.port}`);
  t.is(moved.status, 302);
  t.is(moved.headers.location, `//dashboard.lambda.test:${server.port}/dashboard/functions/greet?window=24h`);
  const root302 = await get(server.port, '/');
  t.is(root302.status, 302);
  t.is(root302.headers.location, '/dashboard');
  // Nothing a function, a pusher or a scraper reaches is on the dashboard's host (the surfaces here would throw: a 500).
  for (const target of ['/fn/evil/', '/fn/evil/sw.js', '/git/evil.git/info/refs', '/metrics', '/healthz', '/sw.js']) {
    const answer = await get(server.port, target);
    t.is(answer.status, 404, target);
    t.false(answer.body.includes(SECRET), target);
  }
});
