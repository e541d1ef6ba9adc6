// The pids cgroup of one Dockerfile build, on a stand-in for /sys/fs/cgroup (v1 and v2 layouts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { buildPidsCgroup } from './cgroup.js';

function root(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-cgroup-'));
}

test('cgroup v1: each build gets its own cgroup with pids.max, removed under every controller after', (t) => {
  const dir = root();
  const a = buildPidsCgroup(64, 'server1-build1', dir);
  const b = buildPidsCgroup(64, 'server1-build2', dir);
  t.is(a.parent, '/lambda-build/server1-build1');
  t.is(b.parent, '/lambda-build/server1-build2');
  t.is(fs.readFileSync(path.join(dir, 'pids', 'lambda-build', 'server1-build1', 'pids.max'), 'utf8'), '64');
  t.false(fs.existsSync(path.join(dir, 'pids', 'lambda-build', 'pids.max')), 'the shared parent has no limit');
  // The engine makes the same path under the other controllers.
  fs.mkdirSync(path.join(dir, 'memory', 'lambda-build', 'server1-build1'), { recursive: true });
  // rmdir takes a real cgroup with its files; the stand-in's file goes first.
  fs.rmSync(path.join(dir, 'pids', 'lambda-build', 'server1-build1', 'pids.max'));
  a.remove();
  t.false(fs.existsSync(path.join(dir, 'pids', 'lambda-build', 'server1-build1')));
  t.false(fs.existsSync(path.join(dir, 'memory', 'lambda-build', 'server1-build1')));
  t.true(fs.existsSync(path.join(dir, 'pids', 'lambda-build', 'server1-build2')));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('cgroup v2: the pids controller is enabled down to the build and pids.max set', (t) => {
  const dir = root();
  fs.writeFileSync(path.join(dir, 'cgroup.controllers'), 'cpu memory pids\n');
  fs.writeFileSync(path.join(dir, 'cgroup.subtree_control'), 'cpu memory\n');
  // The kernel makes cgroup.subtree_control when the folder is made; the stand-in has it already.
  fs.mkdirSync(path.join(dir, 'lambda-build'));
  fs.writeFileSync(path.join(dir, 'lambda-build', 'cgroup.subtree_control'), '\n');
  const cgroup = buildPidsCgroup(32, 'abc-def', dir);
  t.is(cgroup.parent, '/lambda-build/abc-def');
  t.is(fs.readFileSync(path.join(dir, 'cgroup.subtree_control'), 'utf8'), '+pids');
  t.is(fs.readFileSync(path.join(dir, 'lambda-build', 'cgroup.subtree_control'), 'utf8'), '+pids');
  t.is(fs.readFileSync(path.join(dir, 'lambda-build', 'abc-def', 'pids.max'), 'utf8'), '32');
  fs.rmSync(path.join(dir, 'lambda-build', 'abc-def', 'pids.max'));
  cgroup.remove();
  t.false(fs.existsSync(path.join(dir, 'lambda-build', 'abc-def')));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a cgroup the server cannot make, or a bad name, is refused saying where and why', (t) => {
  const dir = root();
  fs.writeFileSync(path.join(dir, 'pids'), 'not a folder');
  t.throws(() => buildPidsCgroup(16, 's-b', dir), { message: /^cannot bound the build's processes \(.*lambda-build\/s-b: / });
  t.throws(() => buildPidsCgroup(16, '../x', dir), { message: /is not letters, digits/ });
  fs.rmSync(dir, { recursive: true, force: true });
});
