// A pushed repository's file is read only as a regular file under its bound: never through a link to a host file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { readRepositoryFile } from './repository-file.js';

const repository = (t: { teardown(fn: () => void): void }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-repo-file-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};

test('a regular file is read; a missing one is undefined', (t) => {
  const dir = repository(t);
  fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
  t.is(readRepositoryFile(dir, 'Dockerfile', 1024)?.toString('utf8'), 'FROM scratch\n');
  t.is(readRepositoryFile(dir, 'package.json', 1024), undefined);
});

test('a link (to a host file) or a folder is refused, not followed', (t) => {
  const dir = repository(t);
  fs.symlinkSync('/etc/passwd', path.join(dir, 'package.json'));
  fs.mkdirSync(path.join(dir, 'Dockerfile'));
  for (const name of ['package.json', 'Dockerfile']) {
    const error = t.throws(() => readRepositoryFile(dir, name, 1024));
    t.regex(error?.message ?? '', new RegExp(`${name.replace('.', '\\.')} must be a regular file, not a link or a folder`));
  }
});

test('a file over the bound is refused with the bound in KiB or MiB', (t) => {
  const dir = repository(t);
  fs.writeFileSync(path.join(dir, 'Dockerfile'), Buffer.alloc(2048));
  t.regex(t.throws(() => readRepositoryFile(dir, 'Dockerfile', 1024))?.message ?? '', /Dockerfile is over 1 KiB/);
  fs.writeFileSync(path.join(dir, 'requirements.txt'), Buffer.alloc(1024 * 1024 + 1));
  t.regex(t.throws(() => readRepositoryFile(dir, 'requirements.txt', 1024 * 1024))?.message ?? '', /requirements\.txt is over 1 MiB/);
});
