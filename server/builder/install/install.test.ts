// The install step against a fake Sandbox (the interface ends at the engine): what the container is given (the
// manifest and lock file only), how its output comes back, when an install is reused, and how failures read.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { LambdaError } from '../../errors.js';
import { PROJECT_ROOT } from '../../config/load.js';
import type { Sandbox, SandboxRun } from '../../instances/engine.js';
import { loadBuildpacks, type Buildpack, type InstallStep } from '../buildpacks.js';
import { installDependencies, type InstallRequest } from './install.js';

const pack = loadBuildpacks(path.join(PROJECT_ROOT, 'buildpacks')).get('node20') as Buildpack & { install: InstallStep };

interface Seen {
  request: SandboxRun;
  settings: Record<string, unknown>;
  files: string[];
  /** The package.json the container was given. */
  manifest?: string;
}

/** Plays the install container: reads what it was given, prints like npm, sends back `output` unless it fails. */
function fakeSandbox(behaviour: { exitCode?: number; lines?: string[]; output?: Buffer } = {}): Sandbox & { seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    async run(request, onLine) {
      const settings = JSON.parse(fs.readFileSync(path.join(request.inputDir, 'install.json'), 'utf8')) as Record<string, unknown>;
      const manifestFile = path.join(request.inputDir, 'inputs', 'package.json');
      const manifest = fs.existsSync(manifestFile) ? fs.readFileSync(manifestFile, 'utf8') : undefined;
      seen.push({ request, settings, files: fs.readdirSync(request.inputDir, { recursive: true }).map(String).sort(), manifest });
      for (const line of behaviour.lines ?? []) onLine(line);
      if ((behaviour.exitCode ?? 0) !== 0) return { exitCode: behaviour.exitCode ?? 1, timedOut: false };
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ socketPath: path.join(request.inputDir, 'proxy.sock'), method: 'PUT', path: '/output' }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(behaviour.output ?? Buffer.from('tar bytes'));
      });
      return { exitCode: 0, timedOut: false };
    },
  };
}

function setup(t: { teardown(fn: () => void): void }, files: Record<string, string>) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-install-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const codeDir = path.join(root, 'code');
  fs.mkdirSync(codeDir);
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(codeDir, file), text);
  const lines: { level: 'detail' | 'warn'; text: string }[] = [];
  const log = { detail: (text: string) => lines.push({ level: 'detail', text }), warn: (text: string) => lines.push({ level: 'warn', text }) };
  const request = (sandbox: Sandbox): InstallRequest => ({
    sandbox,
    pack,
    baseImage: 'lambda/base-node20:test',
    registry: { url: new URL('https://registry.npmjs.org/'), host: 'registry.npmjs.org', port: 443 },
    codeDir,
    workDir: root,
    cacheDir: path.join(root, 'cache'),
    fn: 'greet',
  });
  return { root, codeDir, lines, log, request };
}

const PACKAGE = JSON.stringify({ name: 'x', dependencies: { ms: '2.1.3' } });

test('the container gets package.json and the lock file only, never .npmrc or code; its output is cached', async (t) => {
  const { codeDir, lines, log, request } = setup(t, {
    'package.json': PACKAGE,
    'package-lock.json': '{"lockfileVersion":3}',
    '.npmrc': 'git=/var/task/evil.js\n',
    '.yarnrc': 'x',
    'evil.js': 'process.exit(1)',
    'index.js': 'exports.handler = () => 1',
  });
  const sandbox = fakeSandbox({ lines: ['\x1b[32madded 1 package in 1s\x1b[0m'] });
  const first = await installDependencies(request(sandbox), log);
  t.false(first.reused);
  t.is(fs.readFileSync(first.archive, 'utf8'), 'tar bytes');
  t.is(sandbox.seen.length, 1);
  const [{ request: run, settings, files }] = sandbox.seen;
  t.deepEqual(files, ['inputs', 'inputs/package-lock.json', 'inputs/package.json', 'install.json', 'install.mjs', 'proxy.sock']);
  t.deepEqual(settings, { registry: 'https://registry.npmjs.org/', ca: false, inputs: ['package.json', 'package-lock.json'], output: 'node_modules' });
  t.like(run, { image: 'lambda/base-node20:test', command: ['node', '/lambda-install/install.mjs'], workingDir: '/work', inputMount: '/lambda-install' });
  t.deepEqual(Object.keys(run.env).sort(), ['HOME', 'PATH'], 'the host environment stays on the host');
  t.deepEqual(Object.keys(run.scratch).sort(), ['/tmp', '/work']);
  t.false(fs.existsSync(run.inputDir), 'the mounted folder is removed after the run');
  t.deepEqual(lines, [
    { level: 'detail', text: 'Installing dependencies from package.json + package-lock.json (only registry.npmjs.org is reachable) ...' },
    { level: 'detail', text: 'added 1 package in 1s' },
  ]);

  // Only the code changes: the install is reused, no container runs.
  fs.writeFileSync(path.join(codeDir, 'index.js'), 'exports.handler = () => 2');
  const second = await installDependencies(request(sandbox), log);
  t.true(second.reused);
  t.is(second.archive, first.archive);
  t.is(sandbox.seen.length, 1);
  t.regex(lines.at(-1)?.text ?? '', /^Dependencies unchanged \(package\.json \+ package-lock\.json\): reusing the install [0-9a-f]{12}$/);

  // The lock file changes: a new install.
  fs.writeFileSync(path.join(codeDir, 'package-lock.json'), '{"lockfileVersion":3,"x":1}');
  const third = await installDependencies(request(sandbox), log);
  t.false(third.reused);
  t.not(third.archive, first.archive);
  t.is(sandbox.seen.length, 2);
});

test('a package.json that is a symlink is refused before anything runs: it could point at a host file', async (t) => {
  const { codeDir, log, request } = setup(t, {});
  fs.symlinkSync('/etc/passwd', path.join(codeDir, 'package.json'));
  const sandbox = fakeSandbox();
  const error = await t.throwsAsync(installDependencies(request(sandbox), log), { instanceOf: LambdaError });
  t.is(error?.code, 'LAMBDA_ERR_BUILD_FAILED');
  t.regex(error?.message ?? '', /package\.json must be a regular file/);
  t.is(sandbox.seen.length, 0);
});

test("the function's own scripts never reach the container; a dependency on a local path is refused before anything runs", async (t) => {
  const { codeDir, log, request } = setup(t, { 'package.json': JSON.stringify({ name: 'x', dependencies: { ms: '2.1.3' }, scripts: { postinstall: 'node evil.js' } }) });
  const sandbox = fakeSandbox();
  await installDependencies(request(sandbox), log);
  t.deepEqual(JSON.parse(sandbox.seen[0].manifest ?? 'null'), { name: 'x', dependencies: { ms: '2.1.3' } });

  // The attack: the install's own inputs folder linked as a package would be the pushed package.json, scripts and all.
  fs.writeFileSync(path.join(codeDir, 'package.json'), JSON.stringify({ dependencies: { evil: 'file:/lambda-install/inputs' }, scripts: { postinstall: 'node evil.js' } }));
  const error = await t.throwsAsync(installDependencies(request(sandbox), log), { instanceOf: LambdaError });
  t.is(error?.code, 'LAMBDA_ERR_BUILD_FAILED');
  t.regex(error?.message ?? '', /the dependency "evil" is a local path \("file:\/lambda-install\/inputs"\)/);
  t.is(sandbox.seen.length, 1, 'no second container');
});

test('a failed install shows its whole output as clean warnings and names npm\'s error', async (t) => {
  const { log, lines, request } = setup(t, { 'package.json': PACKAGE });
  const npm = ['npm error code E404', '\x1b[31mnpm error 404 Not Found - GET https://registry.npmjs.org/nope\x1b[39m', 'npm error A complete log of this run can be found in: /tmp/x.log'];
  const sandbox = fakeSandbox({ exitCode: 1, lines: npm });
  const error = await t.throwsAsync(installDependencies(request(sandbox), log), { instanceOf: LambdaError });
  t.is(error?.code, 'LAMBDA_ERR_BUILD_FAILED');
  t.is(error?.message, 'the image build failed: installing dependencies failed: npm error 404 Not Found - GET https://registry.npmjs.org/nope');
  t.deepEqual(
    lines.filter((line) => line.level === 'warn').map((line) => line.text),
    ['npm error code E404', 'npm error 404 Not Found - GET https://registry.npmjs.org/nope', 'npm error A complete log of this run can be found in: /tmp/x.log'],
  );
  t.deepEqual(fs.readdirSync(request(sandbox).cacheDir), [], 'nothing is cached');
});

test('the install runs in the install image, may run what it builds in /work only, and a new install image installs again', async (t) => {
  const { lines, log, request } = setup(t, { 'package.json': PACKAGE });
  const sandbox = fakeSandbox();
  const withImage = (installImage: string): InstallRequest => ({ ...request(sandbox), installImage });
  const first = await installDependencies(withImage('lambda/install-node20:one'), log);
  t.false(first.reused);
  t.like(sandbox.seen[0].request, { image: 'lambda/install-node20:one', runnable: ['/work'] });

  t.true((await installDependencies(withImage('lambda/install-node20:one'), log)).reused);
  t.is(sandbox.seen.length, 1);

  // Another toolchain (a compiler upgrade, another Node's headers) builds addons differently: not reused.
  const other = await installDependencies(withImage('lambda/install-node20:two'), log);
  t.false(other.reused);
  t.not(other.archive, first.archive);
  t.is(sandbox.seen.length, 2);
  t.is(sandbox.seen[1].request.image, 'lambda/install-node20:two');
  t.true(lines.some((line) => line.text.startsWith('Dependencies unchanged')));
});

test('a buildpack with no install image installs in its base image with every scratch folder noexec', async (t) => {
  const { log, request } = setup(t, { 'package.json': PACKAGE });
  const sandbox = fakeSandbox();
  const install = { ...pack.install, image: undefined };
  await installDependencies({ ...request(sandbox), pack: { ...pack, install } }, log);
  t.like(sandbox.seen[0].request, { image: 'lambda/base-node20:test', runnable: [] });
});
