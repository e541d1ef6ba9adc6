// Runs in the throwaway install container (uid 10001, no network, read-only root, tmpfs /work and /tmp): installs
// the function's npm dependencies with the platform's settings only, running the dependencies' install scripts (so
// node-gyp addons compile with the image's toolchain and Node's headers), then sends node_modules back to the server.
// Plain Node, no dependencies but npm's own. The server mounts this folder read-only at /lambda-install with:
//   install.json  { "registry": "https://…/", "ca": true|false, "inputs": ["package.json", …], "output": "node_modules" }
//   inputs/       the repository's package.json (the server removed its own scripts) and lock file, nothing else
//   ca.pem        CA bundle the host trusts for the registry (when "ca" is true)
//   proxy.sock    the server's registry-only CONNECT proxy; also takes one PUT /output
import fs from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const settings = JSON.parse(fs.readFileSync(path.join(here, 'install.json'), 'utf8'));
const socketPath = path.join(here, 'proxy.sock');
const work = process.cwd();
// The container has its own loopback: this port is only the bridge to the server's socket.
const BRIDGE_PORT = 3128;
// npm refuses one file as both user and global config: the same settings go into two files.
const npmrc = '/tmp/npmrc';
const globalNpmrc = '/tmp/npmrc-global';

function fail(message) {
  console.error(`install: ${message}`);
  process.exit(70);
}

/** npm speaks to an HTTP proxy on TCP; the only way out is the Unix socket, so bridge one to the other. */
function startBridge() {
  const bridge = net.createServer((client) => {
    const upstream = net.connect(socketPath);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    bridge.once('error', reject);
    bridge.listen(BRIDGE_PORT, '127.0.0.1', () => resolve(bridge));
  });
}

/** The whole npm configuration: user and global config both point here, and the environment carries none. */
function writeConfig() {
  const proxy = `http://127.0.0.1:${BRIDGE_PORT}/`;
  const lines = [
    `registry=${settings.registry}`,
    `https-proxy=${proxy}`,
    `proxy=${proxy}`,
    'noproxy=',
    'strict-ssl=true',
    // Dependencies' lifecycle scripts run (addons compile); the server removed the function's own from its package.json.
    'ignore-scripts=false',
    'omit=dev',
    'audit=false',
    'fund=false',
    'update-notifier=false',
    'color=false',
    'progress=false',
    'loglevel=warn',
    'cache=/tmp/npm-cache',
    // The debug log would sit in the container's tmpfs, gone with it: npm's "complete log" pointer would mislead.
    'logs-max=0',
    'install-links=false',
    'workspaces=false',
    'foreground-scripts=false',
    // No git in the image either: a git dependency fails instead of running its prepare script.
    'git=/nonexistent/git',
    'script-shell=/bin/sh',
    'node-options=',
  ];
  for (const file of [npmrc, globalNpmrc]) fs.writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
}

function findNpm() {
  for (const dir of (process.env.PATH || '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const candidate = path.join(dir, 'npm');
    if (fs.existsSync(candidate)) return fs.realpathSync(candidate);
  }
  return fail('npm is not in the base image');
}

function copyInputs() {
  for (const name of settings.inputs) fs.copyFileSync(path.join(here, 'inputs', name), path.join(work, name));
}

function runNpm(npmCli) {
  // Scripts get this environment and npm's own variables, nothing of the host's. node-gyp compiles against the
  // headers of the Node that runs here (nodedir: /usr in the assembled image, /usr/local in the official one) and
  // so never downloads any.
  const env = { PATH: process.env.PATH, HOME: '/tmp', NODE_ENV: 'production' };
  const nodedir = path.resolve(path.dirname(process.execPath), '..');
  if (fs.existsSync(path.join(nodedir, 'include', 'node', 'common.gypi'))) env.npm_config_nodedir = nodedir;
  if (settings.ca) env.NODE_EXTRA_CA_CERTS = path.join(here, 'ca.pem');
  const args = [npmCli, 'install', `--userconfig=${npmrc}`, `--globalconfig=${globalNpmrc}`, '--omit=dev', '--no-audit', '--no-fund', '--color=false', '--progress=false'];
  const child = spawn(process.execPath, args, { cwd: work, env, stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
}

/** Streams node_modules as a tar (npm's own tar module) to the server, which stores it for the image build. */
async function sendOutput(npmCli) {
  const output = path.join(work, settings.output);
  fs.mkdirSync(output, { recursive: true });
  const tar = createRequire(npmCli)('tar');
  const archive = tar.c({ cwd: work, portable: true }, [settings.output]);
  await new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method: 'PUT', path: '/output' }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`the server refused the installed files (${res.statusCode})`))));
    });
    req.on('error', reject);
    archive.on('error', reject);
    archive.pipe(req);
  });
}

try {
  const npmCli = findNpm();
  const bridge = await startBridge();
  writeConfig();
  copyInputs();
  const code = await runNpm(npmCli);
  if (code !== 0) process.exit(code);
  await sendOutput(npmCli);
  bridge.close();
  process.exit(0);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
