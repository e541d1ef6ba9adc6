// Finding Go: the machine's `go`, or Debian's golang-go installed at the first Go build, or a clear error.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LambdaError } from '../../errors.js';
import { locate } from './toolchain.js';

function fakeGo(dir: string): void {
  const goroot = path.join(dir, 'goroot');
  fs.mkdirSync(goroot, { recursive: true });
  fs.writeFileSync(path.join(dir, 'go'), `#!/bin/sh\nprintf '%s\\n%s\\n' '${goroot}' 'go1.19.8'\n`, { mode: 0o755 });
}

test('without go and not root: an error that names the package to install, and nothing is installed', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'go-toolchain-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let installed = false;
  const error = await t.throwsAsync(
    locate(() => {}, {
      searchPath: dir,
      isRoot: false,
      install: async () => {
        installed = true;
      },
    }),
    { instanceOf: LambdaError },
  );
  t.is(error?.code, 'LAMBDA_ERR_BUILD_FAILED');
  t.regex(String(error?.message), /Go is not installed on this machine: install Debian's golang-go \(apt-get install golang-go\)/);
  t.false(installed);
});

test('without go, as root: golang-go is installed once a build needs it, then found', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'go-toolchain-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const toolchain = await locate((line) => lines.push(line), { searchPath: dir, isRoot: true, install: async () => fakeGo(dir) });
  t.deepEqual(toolchain, { goroot: fs.realpathSync(path.join(dir, 'goroot')), version: 'go1.19.8' });
  t.regex(lines.join('\n'), /Installing Debian's golang-go \(the first Go build on this machine\)/);
});

test('go present: used as it is, nothing installed', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'go-toolchain-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fakeGo(dir);
  const toolchain = await locate(() => {}, {
    searchPath: dir,
    isRoot: true,
    install: () => Promise.reject(new Error('must not install')),
  });
  t.is(toolchain.version, 'go1.19.8');
});
