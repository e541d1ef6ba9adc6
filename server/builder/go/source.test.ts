// A Go build's copy of a repository: regular files and folders only; a link to a host file is never read.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { copySource } from './source.js';

test('links (to a host file, to a folder), FIFOs and .git are left out; regular files keep their bytes', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'go-source-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const from = path.join(root, 'repo');
  const secret = path.join(root, 'host-secret.txt');
  fs.writeFileSync(secret, 'host secret');
  fs.mkdirSync(path.join(from, 'pkg'), { recursive: true });
  fs.mkdirSync(path.join(from, '.git'));
  fs.writeFileSync(path.join(from, '.git', 'config'), 'x');
  fs.writeFileSync(path.join(from, 'main.go'), 'package main\n');
  fs.writeFileSync(path.join(from, 'pkg', 'lib.go'), 'package pkg\n');
  fs.symlinkSync(secret, path.join(from, 'secret.go'));
  fs.symlinkSync(root, path.join(from, 'pkg', 'outside'));
  execFileSync('mkfifo', [path.join(from, 'pipe')]);
  const to = path.join(root, 'copy');
  const copied = copySource(from, to);
  t.is(copied.files, 2);
  t.deepEqual(copied.skipped.sort(), ['pipe', 'pkg/outside', 'secret.go']);
  t.is(fs.readFileSync(path.join(to, 'main.go'), 'utf8'), 'package main\n');
  t.is(fs.readFileSync(path.join(to, 'pkg', 'lib.go'), 'utf8'), 'package pkg\n');
  t.false(fs.existsSync(path.join(to, 'secret.go')));
  t.false(fs.existsSync(path.join(to, '.git')));
  for (const entry of fs.readdirSync(to, { recursive: true, withFileTypes: true })) {
    t.true(entry.isFile() || entry.isDirectory(), entry.name);
    if (entry.isFile()) t.notRegex(fs.readFileSync(path.join(entry.parentPath, entry.name), 'utf8'), /host secret/);
  }
});
