// Who may remove a function's repository: only the last request holding it, and only when it has no branch, is no
// function and no change (a deploy) holds the name.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import anyTest, { type TestFn } from 'ava';
import { lockFunction } from '../functions/lock.js';
import { createRepos, type Repos } from './repos.js';
import { commitSource } from './source.js';

const run = promisify(execFile);
const test = anyTest as TestFn<{ root: string; repos: Repos }>;

test.beforeEach((t) => {
  t.context.root = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-repos-'));
  t.context.repos = createRepos(path.join(t.context.root, 'repos'), path.join(import.meta.dirname, '../../hooks/pre-receive'), path.join(t.context.root, 'control.sock'), {
    maxPackBytes: 1024 * 1024,
  });
});

test.afterEach.always((t) => {
  fs.rmSync(t.context.root, { recursive: true, force: true });
});

const notAFunction = () => false;

test('a failed request does not remove a repository another request still holds; the last one out does', async (t) => {
  const { repos } = t.context;
  const [winner, loser] = await Promise.all([repos.claim('claim-a', notAFunction), repos.claim('claim-a', notAFunction)]);
  t.is(winner.gitDir, loser.gitDir);
  t.false(await loser.release(), 'the loser leaves it to the request still holding it');
  t.true(repos.exists('claim-a'));
  t.false(await loser.release(), 'a second release counts for nothing');
  t.true(repos.exists('claim-a'));
  t.true(await winner.release(), 'the last one out removes the empty repository');
  t.false(repos.exists('claim-a'));
});

test('a repository with a branch, or of a function, is never removed', async (t) => {
  const { repos } = t.context;
  const claim = await repos.claim('claim-b', notAFunction);
  const env = { ...process.env, GIT_DIR: claim.gitDir, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
  const tree = (await run('git', ['hash-object', '-t', 'tree', '-w', '/dev/null'], { env })).stdout.trim();
  const commit = (await run('git', ['commit-tree', tree, '-m', 'x'], { env })).stdout.trim();
  await repos.updateMain('claim-b', commit, undefined);
  t.false(await claim.release());
  t.true(repos.exists('claim-b'));

  const fn = await repos.claim('claim-c', () => true);
  t.false(await fn.release());
  t.true(repos.exists('claim-c'));
});

test('while a change holds the function (a push still deploying) the repository stays; it goes once that ends', async (t) => {
  const { repos } = t.context;
  const claim = await repos.claim('claim-d', notAFunction);
  const unlock = lockFunction('claim-d', 'deploy');
  t.false(await claim.release());
  t.true(repos.exists('claim-d'));
  unlock();
  const gone = await new Promise<boolean>((resolve) => {
    const started = Date.now();
    const look = () => (!repos.exists('claim-d') ? resolve(true) : Date.now() - started > 10_000 ? resolve(false) : setTimeout(look, 100));
    look();
  });
  t.true(gone);
});

test('a request that comes while the last one out checks the repository keeps it', async (t) => {
  const { repos } = t.context;
  const first = await repos.claim('claim-e', notAFunction);
  const releasing = first.release();
  const second = await repos.claim('claim-e', notAFunction);
  t.false(await releasing);
  t.true(fs.existsSync(path.join(second.gitDir, 'HEAD')));
  t.true(await second.release());
});

test('a reserved name is refused and leaves no repository', async (t) => {
  const { repos } = t.context;
  await t.throwsAsync(repos.claim('dashboard', notAFunction));
  t.false(repos.exists('dashboard'));
});

test('a commit is exported for a build byte for byte, whatever its .gitattributes asks', async (t) => {
  const { repos, root } = t.context;
  const claim = await repos.claim('claim-f', notAFunction);
  const work = path.join(root, 'work');
  fs.mkdirSync(work);
  const mixed = Buffer.from('lf\ncrlf\r\n$Id$\n$Format:%H$\n');
  fs.writeFileSync(path.join(work, '.gitattributes'), '* text eol=crlf ident export-subst\ngone.txt export-ignore\n');
  fs.writeFileSync(path.join(work, 'a.txt'), mixed);
  fs.writeFileSync(path.join(work, 'gone.txt'), 'kept\n');
  const tree = await repos.writeTree('claim-f', work, { honourGitignore: false });
  const sha = await repos.commitTree('claim-f', tree, 'bytes');
  const out = path.join(root, 'out');
  fs.mkdirSync(out);
  await commitSource(claim.gitDir, sha, 1024 * 1024).exportTo(out);
  t.deepEqual(fs.readFileSync(path.join(out, 'a.txt')), mixed);
  t.is(fs.readFileSync(path.join(out, 'gone.txt'), 'utf8'), 'kept\n');
  await claim.release();
});
