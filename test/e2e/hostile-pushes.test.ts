// End to end, attacks by pushes and uploads: escapes that forge output, values the engine cannot take, malformed
// objects, oversized and hostile archives; and a rejected push leaves nothing behind.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { Header } from 'tar';
import { command, example, fixture, requireDocker, startLambda, type Lambda } from '../helpers/lambda.js';

const run = promisify(execFile);
let lambda: Lambda;

test.before(async () => {
  await requireDocker();
  // A small code limit keeps the oversized cases quick; every other setting is the default.
  lambda = await startLambda({ LAMBDA_MAX_CODE_SIZE: '20Mi' });
});

test.after.always(async () => {
  await lambda?.destroy();
});

const greetWith = (manifest: string) => ({ 'lambda.yaml': manifest });

test('terminal escapes in lambda.yaml cannot forge lines on the pusher\'s terminal', async (t) => {
  const push = await lambda.push('escapes', example('greet'), {
    files: greetWith('runtime: node20\nhandler: index.handler\n"\\e[2J\\rremote: FAKE: deploy succeeded\\nx": 1\n'),
  });
  t.not(push.code, 0);
  t.false(push.stderr.includes('\x1b'), 'no escape byte reaches the terminal');
  t.notRegex(push.stderr, /^remote: FAKE/m);
  t.regex(push.stderr, /\\x1b\[2J\\rremote: FAKE/);
});

test('an env value with a NUL byte is refused with its key and line, and no container is left', async (t) => {
  const push = await lambda.push('nul-env', example('greet'), { files: greetWith('runtime: node20\nhandler: index.handler\nenv:\n  BAD: "a\\0b"\n') });
  t.not(push.code, 0);
  t.regex(push.stderr, /line 4: env\.BAD: must not contain a NUL byte/);
  t.deepEqual(await lambda.containers('nul-env'), []);
});

test('memory above the server maximum is refused, naming the setting', async (t) => {
  const push = await lambda.push('greedy', example('greet'), { files: greetWith('runtime: node20\nhandler: index.handler\nmemory: 16Gi\n') });
  t.not(push.code, 0);
  t.regex(push.stderr, /memory: 16Gi is above this server's maximum of 4Gi \(LAMBDA_MAX_MEMORY\)/);
});

test('a new function whose first push fails leaves no image and no repository', async (t) => {
  const push = await lambda.push('broken-new', fixture('syntax-error'));
  t.not(push.code, 0);
  t.regex(push.stderr, /LAMBDA_ERR_HEALTHCHECK_FAILED/);
  const images = await run('docker', ['images', '-q', 'lambda-fn/broken-new']);
  t.is(images.stdout.trim(), '');
  t.deepEqual(await lambda.containers('broken-new'), []);
  // The repository goes a moment after the push's last request has ended.
  const repo = path.join(lambda.dataDir, 'data', 'repos', 'broken-new.git');
  for (let i = 0; i < 100 && fs.existsSync(repo); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  t.false(fs.existsSync(repo));
});

test('a symlinked lambda.yaml never reads a host file', async (t) => {
  const dir = fs.mkdtempSync(path.join(lambda.dataDir, 'link-'));
  fs.cpSync(example('greet'), dir, { recursive: true });
  fs.rmSync(path.join(dir, 'lambda.yaml'));
  fs.symlinkSync('/etc/passwd', path.join(dir, 'lambda.yaml'));
  const push = await lambda.push('linked', dir);
  t.not(push.code, 0);
  t.notRegex(push.stderr, /root:x:0/);
  t.regex(push.stderr, /LAMBDA_ERR_MANIFEST_INVALID/);
});

test('shell metacharacters in a pushed ref run nothing', async (t) => {
  const marker = `/tmp/lambda-pwned-${randomBytes(4).toString('hex')}`;
  const work = fs.mkdtempSync(path.join(lambda.dataDir, 'ref-'));
  fs.cpSync(example('greet'), work, { recursive: true });
  const git = (args: string[]) => command('git', args, { cwd: work });
  await git(['init', '-q', '-b', 'main']);
  await git(['add', '-A']);
  await git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'x']);
  const push = await git(['push', `http://lambda:${lambda.key}@127.0.0.1:${lambda.port}/git/refs.git`, `main:refs/heads/x;touch${'${IFS}'}${marker};$(touch${'${IFS}'}${marker})`]);
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, /without deploying/);
  t.false(fs.existsSync(marker));
});

test('malformed git objects are refused (receive.fsckObjects)', async (t) => {
  const work = fs.mkdtempSync(path.join(lambda.dataDir, 'fsck-'));
  const git = (args: string[], input?: Buffer) =>
    new Promise<string>((resolve, reject) => {
      const child = execFile('git', args, { cwd: work, encoding: 'buffer' }, (error, stdout) => (error ? reject(error) : resolve(stdout.toString().trim())));
      child.stdin?.end(input);
    });
  await git(['init', '-q', '-b', 'main']);
  const blob = await git(['hash-object', '-w', '--stdin'], Buffer.from('evil'));
  // A tree whose entry climbs out with "..": git itself never writes one, an attacker can.
  const tree = await git(['hash-object', '-t', 'tree', '-w', '--literally', '--stdin'], Buffer.concat([Buffer.from('100644 ..\0'), Buffer.from(blob, 'hex')]));
  const commit = await git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit-tree', tree, '-m', 'evil']);
  await git(['update-ref', 'refs/heads/main', commit]);
  const push = await command('git', ['push', `http://lambda:${lambda.key}@127.0.0.1:${lambda.port}/git/fsck.git`, 'main'], { cwd: work });
  t.not(push.code, 0);
  t.regex(push.stderr, /fsck|hasDotdot|dot/i);
});

test('a pushed blob larger than LAMBDA_MAX_CODE_SIZE unpacked is refused', async (t) => {
  const dir = fs.mkdtempSync(path.join(lambda.dataDir, 'blob-'));
  fs.cpSync(example('greet'), dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'zeros.bin'), Buffer.alloc(30 * 1024 * 1024));
  const push = await lambda.push('blobby', dir);
  t.not(push.code, 0);
  t.regex(push.stderr, /LAMBDA_ERR_CODE_TOO_LARGE/);
});

/** A .tar.gz made entry by entry, so hostile entries can be written as an attacker would. */
function tarball(entries: { path: string; type?: string; linkpath?: string; body?: Buffer; size?: number }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = entry.body ?? Buffer.alloc(0);
    const header = new Header({ path: entry.path, type: (entry.type ?? 'File') as never, linkpath: entry.linkpath, size: entry.size ?? body.length, mode: 0o644, mtime: new Date() });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

const greetFiles = () => [
  { path: 'lambda.yaml', body: fs.readFileSync(path.join(example('greet'), 'lambda.yaml')) },
  { path: 'index.mjs', body: fs.readFileSync(path.join(example('greet'), fs.readdirSync(example('greet')).find((f) => f.startsWith('index')) ?? 'index.mjs')) },
];

const hostileUpload = test.macro({
  async exec(t, entry: { path: string; type?: string; linkpath?: string }, expected: RegExp) {
    const response = await lambda.api('/api/v1/functions/uploaded/deploy', { method: 'POST', headers: { 'content-type': 'application/gzip' }, body: new Uint8Array(tarball([...greetFiles(), entry])) });
    t.is(response.status, 400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    t.is(body.error.code, 'LAMBDA_ERR_BAD_REQUEST');
    t.regex(body.error.message, expected);
    t.false(fs.existsSync('/tmp/lambda-escaped'));
  },
  title: (label = '') => `an upload with ${label} is refused`,
});

test('"../" in a path', hostileUpload, { path: '../lambda-escaped' }, /points outside the folder/);
test('an absolute path', hostileUpload, { path: '/tmp/lambda-escaped' }, /points outside the folder/);
test('a symlink out of the folder', hostileUpload, { path: 'etc', type: 'SymbolicLink', linkpath: '../../../../etc' }, /outside the folder/);
test('an absolute symlink', hostileUpload, { path: 'passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' }, /outside the folder/);
test('a hard link', hostileUpload, { path: 'shadow', type: 'Link', linkpath: 'lambda.yaml' }, /hard link/);
test('a device file', hostileUpload, { path: 'sda', type: 'BlockDevice' }, /BlockDevice/);

test('an upload that expands beyond LAMBDA_MAX_CODE_SIZE is refused with 413 before it fills the disk', async (t) => {
  const bomb = tarball([...greetFiles(), { path: 'zeros.bin', body: Buffer.alloc(64 * 1024 * 1024) }]);
  t.true(bomb.length < 1024 * 1024, 'a small upload');
  const response = await lambda.api('/api/v1/functions/bomb/deploy', { method: 'POST', headers: { 'content-type': 'application/gzip' }, body: new Uint8Array(bomb) });
  t.is(response.status, 413);
  t.regex(((await response.json()) as { error: { message: string } }).error.message, /unpacked/);
  const builds = path.join(lambda.dataDir, 'data', 'builds');
  const leftovers = fs.existsSync(builds) ? fs.readdirSync(builds).filter((entry) => entry.startsWith('upload-bomb-')) : [];
  t.deepEqual(leftovers, []);
});

test("deleting main is refused with a message that is true today, and the function keeps serving", async (t) => {
  const first = await lambda.push('keeps', example('greet'));
  t.is(first.code, 0, first.stderr);
  const work = fs.mkdtempSync(path.join(lambda.dataDir, 'delete-'));
  await command('git', ['init', '-q', '-b', 'main'], { cwd: work });
  const removal = await command('git', ['push', `http://lambda:${lambda.key}@127.0.0.1:${lambda.port}/git/keeps.git`, '--delete', 'main'], { cwd: work });
  t.not(removal.code, 0);
  t.regex(removal.stderr, /deleting refs\/heads\/main is not allowed: it holds the live version's code/);
  t.notRegex(removal.stderr, /lambda delete/);
  t.is((await lambda.fetch('/fn/keeps/?name=Still')).status, 200);
});

test('a rejected push is one timestamped line in the server log', async (t) => {
  const push = await lambda.push('logged-failure', example('greet'), { files: greetWith('runtime: node20\nhandler: index.handler\ntimeout: ten\n') });
  t.not(push.code, 0);
  t.regex(lambda.output(), /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}! {5}Deploy of logged-failure \([0-9a-f]{12}\) failed: lambda\.yaml: line 3: timeout/m);
});

// A manifest made to be expensive to read: one key of a million characters, two thousand unknown keys. The first is
// refused by its size before it is parsed, the second with twenty problems and a count; every line stays short, and
// another function answers while both pushes are read.
test('a hostile lambda.yaml is refused with short lines, and another function keeps answering', async (t) => {
  const steady = await lambda.push('steady', example('greet'));
  t.is(steady.code, 0, steady.stderr);
  const huge = `runtime: node20\nhandler: index.handler\n? ${'k'.repeat(1_000_000)}\n: 1\n`;
  const keys = Array.from({ length: 2000 }, (_, i) => `    k${i}: 1\n`).join('');
  const many = `runtime: node20\nhandler: index.handler\nschedules:\n  - cron: "* * * * *"\n${keys}`;
  let answered = 0;
  let stop = false;
  const calls = (async () => {
    while (!stop) {
      const response = await lambda.fetch('/fn/steady/?name=During');
      if (response.status === 200) answered++;
      await response.arrayBuffer();
    }
  })();
  const [hugePush, manyPush] = await Promise.all([
    lambda.push('huge-key', example('greet'), { files: greetWith(huge) }),
    lambda.push('many-keys', example('greet'), { files: greetWith(many) }),
  ]);
  stop = true;
  await calls;
  t.not(hugePush.code, 0);
  t.regex(hugePush.stderr, /lambda\.yaml: is \d+ bytes, over the limit of 65536 bytes \(64 KiB\) \(LAMBDA_ERR_MANIFEST_INVALID\)/);
  t.not(manyPush.code, 0);
  t.regex(manyPush.stderr, /line 5: unknown key "schedules\[0\]\.k0" \(allowed: cron, payload, overlap\)/);
  t.regex(manyPush.stderr, /lambda\.yaml: … and 1980 more/);
  const longest = (text: string) => Math.max(...text.split('\n').map((line) => line.length));
  t.true(longest(hugePush.stderr) < 500, `the push's longest line: ${longest(hugePush.stderr)} characters`);
  t.true(longest(manyPush.stderr) < 500, `the push's longest line: ${longest(manyPush.stderr)} characters`);
  t.true(longest(lambda.output()) < 4000, `the server log's longest line: ${longest(lambda.output())} characters`);
  t.true(answered > 0, 'the other function answered while the manifests were read');
  t.is((await lambda.fetch('/fn/steady/?name=After')).status, 200);
});
