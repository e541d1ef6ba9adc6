// The socket a Go build sends its binary back on: one PUT per name, size-bounded, nothing else (no tunnel).
import test from 'ava';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serveOutputSocket } from './output-socket.js';

function put(socketPath: string, where: string, body: Buffer, method = 'PUT'): Promise<number> {
  return new Promise((resolve) => {
    const request = http.request({ socketPath, method, path: where }, (answer) => {
      answer.resume();
      resolve(answer.statusCode ?? 0);
    });
    request.on('error', () => resolve(0));
    request.end(body);
  });
}

async function setUp(t: import('ava').ExecutionContext) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'go-out-'));
  const files = { output: path.join(dir, 'binary'), cache: path.join(dir, 'cache.tar') };
  const refused: string[] = [];
  const socket = await serveOutputSocket(path.join(dir, 'output.sock'), { output: { file: files.output, maxBytes: 1024 }, cache: { file: files.cache, maxBytes: 16 } }, (message) => refused.push(message));
  t.teardown(async () => {
    await socket.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, files, refused, socket, socketPath: path.join(dir, 'output.sock') };
}

test('one binary is accepted, a second PUT is refused; other names and methods are not served', async (t) => {
  const { files, socket, socketPath } = await setUp(t);
  t.is(await put(socketPath, '/output', Buffer.from('ELF binary')), 204);
  t.is(socket.received('output'), files.output);
  t.is(fs.readFileSync(files.output, 'utf8'), 'ELF binary');
  t.is(await put(socketPath, '/output', Buffer.from('another')), 409);
  t.is(fs.readFileSync(files.output, 'utf8'), 'ELF binary');
  t.is(await put(socketPath, '/etc/passwd', Buffer.from('x')), 405);
  t.is(await put(socketPath, '/output', Buffer.alloc(0), 'GET'), 409);
});

test('over its bound a PUT is refused, its file removed and the refusal told', async (t) => {
  const { files, refused, socket, socketPath } = await setUp(t);
  t.is(await put(socketPath, '/cache', Buffer.alloc(64, 1)), 413);
  t.is(socket.received('cache'), undefined);
  t.false(fs.existsSync(files.cache));
  t.regex(refused.join('\n'), /build cache is over 16 bytes/);
});

test('attack: a CONNECT tunnel (a way out to the network) is closed without an answer', async (t) => {
  const { socketPath } = await setUp(t);
  const answer = await new Promise<string>((resolve) => {
    const client = net.connect(socketPath, () => client.write('CONNECT proxy.golang.org:443 HTTP/1.1\r\nhost: proxy.golang.org:443\r\n\r\n'));
    let text = '';
    client.on('data', (chunk) => (text += String(chunk)));
    client.on('close', () => resolve(text));
    client.on('error', () => resolve(text));
  });
  t.notRegex(answer, /200/);
});
