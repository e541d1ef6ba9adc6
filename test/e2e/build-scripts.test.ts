// End to end: install scripts of dependencies run, held by the install sandbox. A registry this test serves (TLS with
// its own CA, reached through an HTTPS proxy on loopback the server is configured with, as a host behind a company
// proxy would be) hands out a package whose install script does what a hostile package would and writes down what it
// saw; the function answers that report: uid 10001, no network but the registry proxy, no write outside /work and
// /tmp, nothing run from /tmp, nothing of the host's environment, and the function's own scripts not run at all
// (not even in the container's copy of its package.json, nor by linking that as a package). Another package floods
// the install's output with one endless line: the server keeps a bounded part of it and keeps answering.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { create as createTar } from 'tar';
import { fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

const run = promisify(execFile);
const REGISTRY_HOST = 'registry.lambda-e2e.test';
/** A value only the server's environment holds: the install script must not see it. */
const SECRET = `host-secret-${randomBytes(8).toString('hex')}`;

let lambda: Lambda;
let dir: string;
let registry: https.Server;
let proxy: http.Server;
/** What the loopback proxy was asked to reach, and what the registry was asked for. */
const tunnels: string[] = [];
const fetched: string[] = [];

test.before(async () => {
  await requireDocker();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-scripts-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${REGISTRY_HOST}`, '-addext', `subjectAltName=DNS:${REGISTRY_HOST}`]);
  // The packages the registry serves: name → its packument and its tarball's path and bytes.
  const packages = new Map<string, { packument: unknown; path: string; tarball: Buffer }>();
  for (const [name, folder] of [['script-probe', 'script-probe-package'], ['noise-maker', 'noise-package']]) {
    const tarball = await packFixture(folder, name);
    const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
    const tarballUrl = `https://${REGISTRY_HOST}/${name}/-/${name}-1.0.0.tgz`;
    const manifest = JSON.parse(fs.readFileSync(path.join(fixture(folder), 'package.json'), 'utf8')) as Record<string, unknown>;
    const packument = { name, 'dist-tags': { latest: '1.0.0' }, versions: { '1.0.0': { ...manifest, hasInstallScript: true, dist: { tarball: tarballUrl, integrity } } } };
    packages.set(name, { packument, path: new URL(tarballUrl).pathname, tarball });
  }
  registry = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => {
    fetched.push(req.url ?? '');
    const served = packages.get((req.url ?? '').slice(1));
    if (served) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served.packument));
    const tarball = [...packages.values()].find((entry) => entry.path === req.url)?.tarball;
    if (tarball) return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(tarball);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  const registryPort = (registry.address() as net.AddressInfo).port;
  // The host's proxy: the registry's name leads to the registry above; it tunnels nowhere else.
  proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    if (req.url !== `${REGISTRY_HOST}:443`) return void client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    const upstream = net.connect(registryPort, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  lambda = await startLambda({
    npm_config_registry: `https://${REGISTRY_HOST}/`,
    npm_config_cafile: cert,
    HTTPS_PROXY: `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`,
    NO_PROXY: '',
    no_proxy: '',
    LAMBDA_E2E_HOST_ONLY: SECRET,
  });
});

test.after.always(async () => {
  await lambda?.destroy();
  registry?.close();
  proxy?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fixture package as the registry serves it: a gzipped tar of package/. */
async function packFixture(folder: string, name: string): Promise<Buffer> {
  const stage = path.join(dir, `stage-${name}`);
  fs.cpSync(fixture(folder), path.join(stage, 'package'), { recursive: true });
  const file = path.join(dir, `${name}-1.0.0.tgz`);
  await createTar({ gzip: true, cwd: stage, portable: true, file }, ['package']);
  return fs.readFileSync(file);
}

interface Report {
  uid: number;
  gid: number;
  idU: string;
  writes: Record<string, string>;
  runFromTmp: string;
  network: Record<string, string>;
  env: Record<string, string>;
  home: string;
  inputsScripts: string[] | string;
}

test.serial("a dependency's install script runs as uid 10001, reaches only the registry, writes only /work and /tmp", async (t) => {
  const push = await lambda.push('probe', fixture('install-probe'));
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, new RegExp(`Installing dependencies from package\\.json \\(only ${REGISTRY_HOST.replaceAll('.', '\\.')} is reachable\\)`));
  t.true(fetched.includes('/script-probe/-/script-probe-1.0.0.tgz'), 'the package came from the registry');
  const invoked = await lambda.api('/api/v1/functions/probe/invoke', { method: 'POST', body: '{}' });
  t.is(invoked.status, 200);
  const { report, ownScriptsRan } = (await invoked.json()) as { report: Report; ownScriptsRan: boolean };

  // The script ran, with a real shell and programs, as the unprivileged user.
  t.is(report.uid, 10001);
  t.is(report.gid, 10001);
  t.is(report.idU, '10001');
  // The function's own preinstall and postinstall did not run, and the container never held them.
  t.false(ownScriptsRan);
  t.deepEqual(report.inputsScripts, []);

  // Writable: its own folder, /work and /tmp (the home is /tmp). Nothing else.
  t.deepEqual(report.writes, {
    '/': 'EROFS',
    '/lambda-install': 'EROFS',
    '/usr': 'EROFS',
    '/usr/bin': 'EROFS',
    '/etc': 'EROFS',
    '/var/task': 'EROFS',
    '/root': 'EROFS',
    '/tmp': 'written',
    '/work': 'written',
    '/work/node_modules/script-probe': 'written',
  });
  t.is(report.home, '/tmp');
  t.is(report.runFromTmp, 'EACCES', '/tmp is noexec');

  // No network: no route to a public address, no name resolution; the proxy tunnels to the registry and nowhere else.
  t.is(report.network.publicAddress, 'ENETUNREACH');
  t.not(report.network.dns, 'resolved');
  t.regex(report.network.proxyToPublicAddress, /^HTTP\/1\.1 403\b/);
  t.regex(report.network.proxyToRegistry, /^HTTP\/1\.1 200\b/);
  t.false(tunnels.some((target) => target.startsWith('1.1.1.1')), 'the refused tunnel never reached the host proxy');

  // Nothing of the host's environment: not the server's variables, not its proxy.
  const env = JSON.stringify(report.env);
  t.false(env.includes(SECRET));
  t.false(env.includes(String((proxy.address() as net.AddressInfo).port)));
  t.is(report.env.HOME, '/tmp');
  t.is(report.env.NODE_ENV, 'production');
});

test.serial("attack: a dependency linking the install's own inputs, to run the function's scripts, is refused by name", async (t) => {
  const manifest = { name: 'linker', dependencies: { 'script-probe': '1.0.0', evil: 'file:/lambda-install/inputs' }, scripts: { postinstall: 'echo ran > /work/node_modules/.own-script-ran' } };
  const push = await lambda.push('linker', fixture('install-probe'), { files: { 'package.json': JSON.stringify(manifest) } });
  t.not(push.code, 0);
  t.regex(push.stderr, /the dependency "evil" is a local path \("file:\/lambda-install\/inputs"\)/);
  t.regex(push.stderr, /LAMBDA_ERR_BUILD_FAILED/);
  t.notRegex(push.stderr, /Installing dependencies/, 'refused before any container ran');
});

/** The server's peak resident memory so far, in bytes. */
function peakMemory(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
}

test.serial("attack: an install script writing 48 MiB without a newline gets its line cut and its output bounded; the server keeps answering", async (t) => {
  const before = peakMemory(lambda.pid);
  let pushing = true;
  const push = lambda.push('noise', fixture('install-probe'), { files: { 'package.json': JSON.stringify({ name: 'noise', dependencies: { 'noise-maker': '1.0.0' } }) } }).finally(() => (pushing = false));
  // Health checks while the install runs: answered while the push was still going.
  let answeredDuring = 0;
  while (pushing) {
    const health = await lambda.fetch('/healthz');
    if (health.status === 200 && pushing) answeredDuring += 1;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const result = await push;
  t.true(fetched.includes('/noise-maker/-/noise-maker-1.0.0.tgz'), 'the package came from the registry');
  t.not(result.code, 0);
  t.regex(result.stderr, /\[line cut at 64 KiB\] x{100}/);
  t.regex(result.stderr, /\[output cut at 16 MiB: the rest of it was dropped\]/);
  t.notRegex(result.stderr, /this line comes after the bound/);
  t.true(answeredDuring > 0, 'the server answered while the install ran');
  // Loose: the flood is 48 MiB; holding it whole (as a string, split again and again) took the server past 800 MB.
  const grown = peakMemory(lambda.pid) - before;
  t.true(grown < 256 * 1024 * 1024, `the server's peak memory grew by ${Math.round(grown / 1024 / 1024)} MiB`);
  t.is((await lambda.fetch('/healthz')).status, 200);
});
