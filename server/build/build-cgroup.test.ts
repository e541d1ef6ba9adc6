// The pids cgroup of Dockerfile builds, on a stand-in for /sys/fs/cgroup (v1 and v2 layouts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { buildPidsCgroup } from './build-cgroup.js';

function root(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-cgroup-'));
}

test('cgroup v1: pids.max of the shared build cgroup is set, and the parent named', (t) => {
  const dir = root();
  // The kernel makes pids.max when the folder is made; the stand-in has it already.
  fs.mkdirSync(path.join(dir, 'pids', 'lambda-build-pids-64'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'pids', 'lambda-build-pids-64', 'pids.max'), 'max\n');
  t.is(buildPidsCgroup(64, dir), '/lambda-build-pids-64');
  t.is(fs.readFileSync(path.join(dir, 'pids', 'lambda-build-pids-64', 'pids.max'), 'utf8'), '64');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('cgroup v2: the pids controller is enabled for children and pids.max set', (t) => {
  const dir = root();
  fs.writeFileSync(path.join(dir, 'cgroup.controllers'), 'cpu memory pids\n');
  fs.writeFileSync(path.join(dir, 'cgroup.subtree_control'), 'cpu memory\n');
  fs.mkdirSync(path.join(dir, 'lambda-build-pids-32'));
  fs.writeFileSync(path.join(dir, 'lambda-build-pids-32', 'pids.max'), 'max\n');
  t.is(buildPidsCgroup(32, dir), '/lambda-build-pids-32');
  t.is(fs.readFileSync(path.join(dir, 'cgroup.subtree_control'), 'utf8'), '+pids');
  t.is(fs.readFileSync(path.join(dir, 'lambda-build-pids-32', 'pids.max'), 'utf8'), '32');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a cgroup the server cannot make is refused saying where and why', (t) => {
  const dir = root();
  fs.writeFileSync(path.join(dir, 'pids'), 'not a folder');
  t.throws(() => buildPidsCgroup(16, dir), { message: /^cannot bound the build's processes \(.*lambda-build-pids-16: / });
  fs.rmSync(dir, { recursive: true, force: true });
});
