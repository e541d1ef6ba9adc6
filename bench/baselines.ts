// The warm-traffic baselines, each in a process of its own as the gateway is (in the client's process they would share
// its CPU time and flatter themselves): a minimal HTTP proxy and a bare byte pipe, each to a direct instance, and a bare
// Node server running the same handler with no container and no shim. `node --import tsx bench/baselines.ts
// proxy|pipe|bare ...` is the child side.
import http from 'node:http';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { startDirectInstance } from './direct-instance.js';

export interface Baseline {
  pool: Pool;
  close(): Promise<void>;
}

/** A minimal HTTP proxy (http.Server + undici Pool.stream, nothing else) in front of its own direct instance of `image`. */
export function startMinimalProxy(image: string, handler: string, fn: string): Promise<Baseline> {
  return startChild(['proxy', image, handler, fn], (address) => new Pool(`http://127.0.0.1:${address}`, { connections: 16 }));
}

/** A bare byte pipe in front of its own direct instance of `image`: each client connection is piped to one connection of the shim, nothing parsed. */
export function startBytePipe(image: string, handler: string, fn: string): Promise<Baseline> {
  return startChild(['pipe', image, handler, fn], (address) => new Pool(`http://127.0.0.1:${address}`, { connections: 16 }));
}

/** A plain Node HTTP server on a Unix socket calling the handler in `dir` in process: what the work costs with nothing around it. */
export function startBareServer(dir: string, handler: string): Promise<Baseline> {
  return startChild(['bare', dir, handler], (address) => new Pool('http://bare', { connections: 16, socketPath: address }));
}

async function startChild(args: string[], connect: (address: string) => Pool): Promise<Baseline> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const address = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = /^listening (\S+)$/m.exec(text);
      if (line) resolve(line[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`the ${args[0]} baseline exited (${String(code)}) before listening`)));
  });
  const pool = connect(address);
  return {
    pool,
    async close() {
      await pool.close();
      await stopChild(child);
    },
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function serveProxy(image: string, handler: string, fn: string): Promise<void> {
  const direct = await startDirectInstance(image, handler, fn);
  const server = http.createServer((req, res) => {
    direct.pool
      .stream({ path: req.url ?? '/', method: 'GET', headers: req.headers as Record<string, string> }, ({ statusCode, headers }) => {
        res.writeHead(statusCode, headers as Record<string, string>);
        return res;
      })
      .catch(() => res.destroy());
  });
  server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as { port: number }).port}`));
  process.once('SIGTERM', () => {
    server.close();
    void direct.close().then(() => process.exit(0));
  });
}

async function servePipe(image: string, handler: string, fn: string): Promise<void> {
  const direct = await startDirectInstance(image, handler, fn);
  const server = net.createServer((client) => {
    client.on('error', () => client.destroy());
    direct.link.take().then(
      (upstream) => {
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        client.pipe(upstream).pipe(client);
      },
      () => client.destroy(),
    );
  });
  server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as { port: number }).port}`));
  process.once('SIGTERM', () => {
    server.close();
    void direct.close().then(() => process.exit(0));
  });
}

async function serveBare(dir: string, spec: string): Promise<void> {
  const [file, exported] = spec.split('.') as [string, string];
  const module = (await import(pathToFileURL(path.join(dir, `${file}.js`)).href)) as Record<string, (event: unknown) => Promise<unknown>>;
  const handle = module[exported] as (event: unknown) => Promise<unknown>;
  const socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-bench-bare-')), 'bare.sock');
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://bare');
    const event = { rawPath: url.pathname, queryStringParameters: Object.fromEntries(url.searchParams), headers: req.headers };
    handle(event).then(
      (result) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(result));
      },
      () => res.destroy(),
    );
  });
  server.listen(socket, () => console.log(`listening ${socket}`));
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

const [mode, ...rest] = process.argv.slice(2);
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (mode === 'proxy') await serveProxy(rest[0] as string, rest[1] as string, rest[2] as string);
  else if (mode === 'pipe') await servePipe(rest[0] as string, rest[1] as string, rest[2] as string);
  else if (mode === 'bare') await serveBare(rest[0] as string, rest[1] as string);
}
