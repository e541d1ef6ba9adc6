// The install container's configuration carries every hardening flag, read without an engine.
import test from 'ava';
import { sandboxConfig } from './sandbox.js';

test('an untrusted job runs as uid 10001, with no network, capabilities or writable root, and bounded', (t) => {
  const config = sandboxConfig(
    {
      image: 'lambda/base-node20:x',
      command: ['node', '/lambda-install/install.mjs'],
      env: { PATH: '/usr/bin:/bin', HOME: '/tmp' },
      workingDir: '/work',
      inputDir: '/data/builds/.install-abc',
      inputMount: '/lambda-install',
      scratch: { '/work': 64 * 1024 * 1024, '/tmp': 32 * 1024 * 1024 },
      memoryBytes: 128 * 1024 * 1024,
      timeoutMs: 60_000,
      labels: { 'lambda.install': 'greet' },
    },
    'server-1',
  );
  t.is(config.User, '10001:10001');
  t.deepEqual(config.Env, ['PATH=/usr/bin:/bin', 'HOME=/tmp']);
  t.like(config.Labels, { 'lambda.server': 'server-1', 'lambda.sandbox': 'true', 'lambda.install': 'greet' });
  t.is(config.Labels?.['lambda.managed'], undefined, 'not an instance: reconciliation leaves it alone');
  const host = config.HostConfig ?? {};
  t.is(host.NetworkMode, 'none');
  t.true(host.ReadonlyRootfs);
  t.deepEqual(host.CapDrop, ['ALL']);
  t.deepEqual(host.SecurityOpt, ['no-new-privileges']);
  t.true((host.PidsLimit ?? 0) > 0);
  t.deepEqual(host.Binds, ['/data/builds/.install-abc:/lambda-install:ro']);
  t.regex(host.Tmpfs?.['/work'] ?? '', /^rw,noexec,nosuid,nodev,size=67108864,uid=10001,gid=10001,mode=0700$/);
  t.regex(host.Tmpfs?.['/tmp'] ?? '', /size=33554432/);
  // tmpfs pages count against the memory limit, so the limit makes room for them.
  t.is(host.Memory, (128 + 64 + 32) * 1024 * 1024);
  t.is(host.MemorySwap, host.Memory);
  t.is(host.Privileged, undefined);
});

test('only the scratch folders a job may run code from are mounted exec; the others stay noexec', (t) => {
  const config = sandboxConfig(
    {
      image: 'lambda/install-node20:x',
      command: ['node', '/lambda-install/install.mjs'],
      env: {},
      workingDir: '/work',
      inputDir: '/data/builds/.install-abc',
      inputMount: '/lambda-install',
      scratch: { '/work': 1024, '/tmp': 1024 },
      runnable: ['/work'],
      memoryBytes: 1024,
      timeoutMs: 60_000,
      labels: {},
    },
    'server-1',
  );
  t.is(config.HostConfig?.Tmpfs?.['/work'], 'rw,exec,nosuid,nodev,size=1024,uid=10001,gid=10001,mode=0700');
  t.is(config.HostConfig?.Tmpfs?.['/tmp'], 'rw,noexec,nosuid,nodev,size=1024,uid=10001,gid=10001,mode=0700');
});
