// Runs in the throwaway Go build container (server/builder/go/compile.ts): builds the read-only source folder with
// the platform's settings only (no network, no cgo, vendor/ when present), sends the binary back over the
// server's socket, and the build cache too when the server keeps one for this function.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';

const MOUNT = '/lambda-build';
const settings = JSON.parse(fs.readFileSync(`${MOUNT}/build.json`, 'utf8'));
const source = `${MOUNT}/src`;
const cache = '/work/cache';
const binary = '/work/out/function';

// A kept cache comes in read-only; Go writes to its cache, so it is copied to the scratch first.
fs.mkdirSync(cache, { recursive: true });
if (settings.cache && fs.existsSync(`${MOUNT}/cache`)) fs.cpSync(`${MOUNT}/cache`, cache, { recursive: true });
fs.mkdirSync(path.dirname(binary), { recursive: true });

// The whole environment of the go command: nothing from the repository or the host decides a setting.
const env = {
  PATH: `${settings.goroot}/bin:/usr/bin:/bin`,
  HOME: '/tmp',
  GOROOT: settings.goroot,
  GOPATH: '/tmp/gopath',
  GOCACHE: cache,
  GOTMPDIR: '/tmp',
  GOENV: 'off',
  GOWORK: 'off',
  GOPROXY: 'off',
  GOSUMDB: 'off',
  GOTOOLCHAIN: 'local',
  // Two compilers at a time, each with two threads: the container has one CPU and a process (thread) limit,
  // while Go would otherwise start as many as the host has cores.
  GOFLAGS: `${settings.vendor ? '-mod=vendor' : '-mod=readonly'} -p=2`,
  GOMAXPROCS: '2',
  CGO_ENABLED: '0',
  GOOS: 'linux',
};
const args = ['build', '-trimpath', '-buildvcs=false', '-ldflags=-s -w', '-o', binary, '.'];
const code = await new Promise((resolve) => {
  const child = spawn('go', args, { cwd: source, env, stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('error', (error) => {
    console.error(`go: ${error.message}`);
    resolve(1);
  });
  child.on('exit', (status) => resolve(status ?? 1));
});
if (code !== 0) process.exit(code);
// go build writes a package archive, not a program, for a folder that is not package main.
const magic = Buffer.alloc(4);
const fd = fs.openSync(binary, 'r');
fs.readSync(fd, magic, 0, 4, 0);
fs.closeSync(fd);
if (!magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) {
  console.error("the repository's root is not package main: there is no program to run");
  process.exit(1);
}

await put('/output', fs.createReadStream(binary));
if (settings.sendCache) await put('/cache', Readable.from(tarOf(cache)));

function put(where, body) {
  return new Promise((resolve, reject) => {
    const request = http.request({ socketPath: `${MOUNT}/output.sock`, method: 'PUT', path: where }, (answer) => {
      answer.resume();
      if (answer.statusCode === 204) resolve();
      else reject(new Error(`the server refused ${where}: ${answer.statusCode}`));
    });
    request.on('error', reject);
    body.on('error', reject);
    body.pipe(request);
  });
}

// A ustar archive of a folder's regular files (the build cache holds nothing else), read by the server strictly.
async function* tarOf(root) {
  for (const file of walk(root)) {
    const name = path.relative(root, file);
    const stat = fs.statSync(file);
    if (Buffer.byteLength(name) > 99) continue;
    yield header(name, stat.size, stat.mtimeMs);
    for await (const chunk of fs.createReadStream(file)) yield chunk;
    const pad = (512 - (stat.size % 512)) % 512;
    if (pad) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(1024);
}

function* walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.isFile()) yield full;
  }
}

function header(name, size, mtimeMs) {
  const block = Buffer.alloc(512);
  const field = (offset, length, text) => block.write(text, offset, length, 'utf8');
  const octal = (offset, length, value) => field(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  field(0, 100, name);
  octal(100, 8, 0o644);
  octal(108, 8, 10001);
  octal(116, 8, 10001);
  octal(124, 12, size);
  octal(136, 12, Math.floor(mtimeMs / 1000));
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const byte of block) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}
