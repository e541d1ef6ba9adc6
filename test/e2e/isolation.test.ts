// End to end, attacks from a function and from other local users: nothing a function does in its container
// changes what the host connects to, writes or reads, and the data folder is private to the server's user.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { command, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  lambda = await startLambda();
  const push = await lambda.push('probe', fixture('probe'));
  if (push.code !== 0) throw new Error(`could not deploy probe: ${push.stderr}`);
});

test.after.always(async () => {
  await lambda?.destroy();
});

test.serial('a function cannot swap its socket for the Docker engine, nor write to the host through its socket folder', async (t) => {
  const attack = (await (await lambda.fetch('/fn/probe/attack')).json()) as Record<string, unknown>;
  t.is(attack.uid, 10001);
  t.is(attack.symlink, 'EROFS');
  t.is(attack.swap, 'EROFS');
  t.is(attack.unlink, 'EROFS');
  t.is(attack.chmod, 'EROFS');
  t.is(attack.fill, 'EROFS');
  t.is(attack.taskRoot, 'EROFS');
  t.is(attack.dockerSocket, 'ENOENT');

  // What the review did next: talk to the engine through the function's public URL, with no key.
  const containersBefore = (await lambda.containers()).length;
  const version = await lambda.fetch('/fn/probe/version');
  const body = (await version.json()) as Record<string, unknown>;
  t.true(body.probe, 'the function answered, not the engine');
  t.false('ApiVersion' in body);
  const create = await lambda.fetch('/fn/probe/v1.41/containers/create', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ Image: 'lambda/probe', User: '0', HostConfig: { Binds: ['/tmp:/proof'] } }),
  });
  t.true(((await create.json()) as { probe?: boolean }).probe);
  t.is((await lambda.containers()).length, containersBefore, 'no container was created');

  // On the host: the folder and its socket belong to the server and nothing was added to them.
  const instances = path.join(lambda.dataDir, 'data', 'instances');
  for (const id of fs.readdirSync(instances)) {
    const dir = path.join(instances, id);
    t.is(fs.statSync(dir).uid, process.getuid?.() ?? 0);
    t.is(fs.statSync(dir).mode & 0o777, 0o755);
    // log.sock carries the function's output; a pre-started cell gets it once it becomes an instance.
    const entries = fs.readdirSync(dir).sort();
    t.true(['host.sock', 'host.sock,log.sock'].includes(entries.join(',')), entries.join(','));
    for (const entry of entries) t.true(fs.lstatSync(path.join(dir, entry)).isSocket());
  }
});

test.serial('other local users can read neither the database nor repositories, nor reach an instance socket', async (t) => {
  // Open the folder around the data folder, as a data folder made by systemd's StateDirectory= would sit.
  fs.chmodSync(lambda.dataDir, 0o755);
  const data = path.join(lambda.dataDir, 'data');
  t.is(fs.statSync(data).mode & 0o777, 0o700);
  t.is(fs.statSync(path.join(data, 'lambda.db')).mode & 0o777, 0o600);
  const asNobody = (args: string[]) => command('runuser', ['-u', 'nobody', '--', ...args]);
  const read = await asNobody(['cat', path.join(data, 'lambda.db')]);
  t.not(read.code, 0);
  t.regex(read.stderr, /Permission denied/);
  const list = await asNobody(['ls', path.join(data, 'repos', 'probe.git')]);
  t.not(list.code, 0);
  const [id] = fs.readdirSync(path.join(data, 'instances'));
  const connect = await asNobody(['node', '-e', `require('net').connect(${JSON.stringify(path.join(data, 'instances', id, 'host.sock'))}).on('error', (e) => { console.error(e.code); process.exit(3); }).on('connect', () => process.exit(0))`]);
  t.is(connect.code, 3);
  t.regex(connect.stderr, /EACCES/);
});

test.serial("a client's own X-Forwarded-Prefix and internal headers never reach the handler", async (t) => {
  const viaHost = await lambda.fetch('/', {
    host: `probe.localhost:${lambda.port}`,
    headers: { 'x-forwarded-prefix': '/admin', 'x-lambda-internal-invoke': 'direct', 'x-forwarded-host': 'evil.example' },
  });
  const headers = ((await viaHost.json()) as { headers: Record<string, string> }).headers;
  t.false('x-forwarded-prefix' in headers);
  t.false('x-lambda-internal-invoke' in headers);
  t.is(headers['x-forwarded-host'], `probe.localhost:${lambda.port}`);
  const viaPath = await lambda.fetch('/fn/probe/', { headers: { 'x-forwarded-prefix': '/admin' } });
  t.is(((await viaPath.json()) as { headers: Record<string, string> }).headers['x-forwarded-prefix'], '/fn/probe');
});
