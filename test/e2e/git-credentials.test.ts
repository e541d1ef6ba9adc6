// End to end: git push with the key from `lambda setup-git`'s credential helper (never in a remote URL, .git/config or
// argv), the helper's silence towards other servers, and the `lambda` command on PATH being this checkout's CLI.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import test from 'ava';
import { ROOT, command, example, requireDocker, startLambda, type CommandResult, type Lambda } from '../helpers/lambda.js';

let lambda: Lambda;
let home: string;

test.before(async () => {
  await requireDocker();
  // The helper git runs is the launcher, bin/lambda, as a user has it: it runs the compiled CLI.
  const built = await command('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
  if (built.code !== 0) throw new Error(`npm run build failed:\n${built.stdout}${built.stderr}`);
  lambda = await startLambda();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-home-'));
});

test.after.always(async () => {
  await lambda?.destroy();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

/**
 * A shell as the README sets one up: this checkout's bin/ first on PATH, a home of its own (so `lambda login` and
 * `lambda setup-git` write there, never to the real ~/.gitconfig), no LAMBDA_* variable unless given.
 */
function shell(script: string, options: { cwd?: string; env?: Record<string, string>; stdin?: string } = {}): Promise<CommandResult> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('LAMBDA_') && !name.startsWith('GIT_') && name !== 'XDG_CONFIG_HOME') env[name] = value;
  }
  Object.assign(env, {
    PATH: `${path.join(ROOT, 'bin')}:${process.env.PATH ?? ''}`,
    HOME: home,
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'test',
    GIT_AUTHOR_EMAIL: 'test@lambda.local',
    GIT_COMMITTER_NAME: 'test',
    GIT_COMMITTER_EMAIL: 'test@lambda.local',
    ...options.env,
  });
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: options.cwd ?? ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // A command that never reads its stdin closes it early: that is no failure of the test.
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.stdin ?? '');
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

/**
 * What `ps` shows any local user while `work` runs: every process's command line, read from /proc every 20 ms
 * (at most 6000 times, two minutes), until `work` ends.
 */
async function commandLinesDuring<T>(work: Promise<T>): Promise<{ result: T; lines: Set<string> }> {
  const lines = new Set<string>();
  let done = false;
  const finished = work.finally(() => {
    done = true;
  });
  for (let round = 0; round < 6000 && !done; round++) {
    for (const pid of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const line = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
        if (line) lines.add(line);
      } catch {
        // the process ended between the listing and the read
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { result: await finished, lines };
}

/** Every file under `dir` whose content holds `text`. */
function filesHolding(dir: string, text: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    if (fs.readFileSync(file).includes(text)) found.push(file);
  }
  return found;
}

/** A copy of examples/greet committed in a repository of its own, with `remote` as its `lambda` remote. */
async function greetRepository(remote: string): Promise<string> {
  const work = fs.mkdtempSync(path.join(home, 'greet-'));
  fs.cpSync(example('greet'), work, { recursive: true });
  const made = await shell(`git init -q -b main && git add -A && git commit -qm greet && git remote add lambda '${remote}'`, { cwd: work });
  if (made.code !== 0) throw new Error(made.stderr);
  return work;
}

test.serial('git push with a key-free remote works through the helper; no key in .git, the git config or any argv', async (t) => {
  // The key reaches the CLI through the environment, never its argv; login saves it 0600, setup-git tells git to ask.
  const login = await shell(`lambda login ${lambda.base}`, { env: { LAMBDA_API_KEY: lambda.key } });
  t.is(login.code, 0, login.stderr);
  t.is(fs.statSync(path.join(home, '.config', 'lambda', 'config.json')).mode & 0o777, 0o600);
  // A helper set up before for every host (this one writes keys in plain text to ~/.git-credentials) is reset for
  // the Lambda server, so it neither answers for it nor stores its key.
  t.is((await shell('git config --global credential.helper store')).code, 0);
  const setup = await shell('lambda setup-git');
  t.is(setup.code, 0, setup.stderr);
  const gitconfig = fs.readFileSync(path.join(home, '.gitconfig'), 'utf8');
  t.true(gitconfig.includes(`[credential "${lambda.base}"]`), gitconfig);
  t.regex(gitconfig, /helper = !'[^']+' '[^']+\/bin\/lambda\.js' git-credential/);
  t.false(gitconfig.includes(lambda.key));

  const work = await greetRepository(`${lambda.base}/git/greet.git`);
  const { result: push, lines } = await commandLinesDuring(shell('git push lambda main', { cwd: work }));
  t.is(push.code, 0, push.stderr);
  t.regex(push.stderr, /remote: -----> Live at http:\/\/greet\.localhost:/);
  // The sampling saw git's HTTP transport, which lives for the whole push: what ps shows was really looked at.
  const transports = [...lines].filter((line) => line.includes('remote-http') && line.includes(`${lambda.base}/git/greet.git`));
  t.true(transports.length > 0, [...lines].join('\n'));
  t.deepEqual([...lines].filter((line) => line.includes(lambda.key)), []);
  t.deepEqual(filesHolding(path.join(work, '.git'), lambda.key), []);
  t.deepEqual(filesHolding(home, lambda.key), [path.join(home, '.config', 'lambda', 'config.json')]);

  const answer = await lambda.fetch('/fn/greet/?name=World');
  t.is(await answer.text(), '{"message":"Hello, World!"}');
});

test.serial('the old way, the key in the remote URL, is what ps shows while git pushes', async (t) => {
  // The attack this helper removes: any local user reading process command lines during a push sees the key.
  const work = await greetRepository(`http://lambda:${lambda.key}@127.0.0.1:${lambda.port}/git/greet.git`);
  const { result: push, lines } = await commandLinesDuring(shell('git push lambda main --force', { cwd: work }));
  t.is(push.code, 0, push.stderr);
  t.true([...lines].some((line) => line.includes(lambda.key)));
  t.true(fs.readFileSync(path.join(work, '.git', 'config'), 'utf8').includes(lambda.key));
});

test.serial('the helper gives the key only to the configured server: not another port, host or protocol', async (t) => {
  const port = lambda.port;
  const ask = (lines: string, env: Record<string, string> = {}) => shell('lambda git-credential get', { stdin: lines, env });
  const mine = await ask(`protocol=http\nhost=127.0.0.1:${port}\npath=git/greet.git\n\n`);
  t.is(mine.code, 0, mine.stderr);
  t.is(mine.stdout, `username=lambda\npassword=${lambda.key}\n`);
  for (const other of [`protocol=http\nhost=127.0.0.1:${port + 1}\n`, `protocol=http\nhost=localhost:${port}\n`, `protocol=https\nhost=127.0.0.1:${port}\n`, `protocol=http\nhost=evil.example\n`]) {
    const answer = await ask(`${other}\n`);
    t.is(answer.code, 0, answer.stderr);
    t.is(answer.stdout, '', other);
  }
  // LAMBDA_URL and LAMBDA_API_KEY win over the saved login, as for every verb.
  const viaEnv = await ask(`protocol=http\nhost=127.0.0.1:${port}\n\n`, { LAMBDA_URL: `http://127.0.0.1:${port + 1}`, LAMBDA_API_KEY: 'other' });
  t.is(viaEnv.stdout, '');
  for (const operation of ['store', 'erase']) {
    const ignored = await shell(`lambda git-credential ${operation}`, { stdin: `protocol=http\nhost=127.0.0.1:${port}\nusername=lambda\npassword=x\n\n` });
    t.is(ignored.code, 0, ignored.stderr);
    t.is(ignored.stdout, '');
  }
  // Through git itself: another server gets nothing (git then fails, as prompting is off), ours gets the key.
  const elsewhere = await shell(`printf 'url=http://127.0.0.1:${port + 1}/git/greet.git\\n\\n' | git credential fill`);
  t.not(elsewhere.code, 0);
  t.false(elsewhere.stdout.includes(lambda.key));
  const here = await shell(`printf 'url=${lambda.base}/git/greet.git\\n\\n' | git credential fill`);
  t.is(here.code, 0, here.stderr);
  t.true(here.stdout.includes(`password=${lambda.key}\n`));
});

test.serial('a storing helper read after lambda\'s: the helper gives no key, so none is stored; setup-git names one', async (t) => {
  const file = path.join(home, '.gitconfig');
  const before = fs.readFileSync(file, 'utf8');
  const work = await greetRepository(`${lambda.base}/git/greet.git`);
  const stored = path.join(home, '.git-credentials');
  try {
    // A [credential] section after lambda's, as a later `git config --global credential.helper store` writes when
    // no such section came before: git would ask it to store the key once a push succeeds.
    fs.appendFileSync(file, '[credential]\n\thelper = store\n');
    const push = await shell('git push lambda main --force', { cwd: work });
    t.not(push.code, 0, 'no key, so the push is refused');
    t.regex(push.stderr, /no API token given: credential\.helper "store" \(file:.*\.gitconfig\) comes after lambda's helper/);
    t.false(fs.existsSync(stored) && fs.readFileSync(stored, 'utf8').includes(lambda.key), 'the key is not in ~/.git-credentials');
    // setup-git puts lambda's section last again: the push works and still stores nothing.
    const setup = await shell('lambda setup-git');
    t.is(setup.code, 0, setup.stderr);
    const again = await shell('git push lambda main --force', { cwd: work });
    t.is(again.code, 0, again.stderr);
    t.false(fs.existsSync(stored) && fs.readFileSync(stored, 'utf8').includes(lambda.key));
    // A repository's own helper is read after every global one: setup-git, run there, names it.
    t.is((await shell('git config credential.helper store', { cwd: work })).code, 0);
    const named = await shell('lambda setup-git', { cwd: work });
    t.is(named.code, 0, named.stderr);
    t.regex(named.stderr, /credential\.helper "store" \(file:\.git\/config\) comes after lambda's helper: git hands it the API token after every push/);
  } finally {
    fs.writeFileSync(file, before);
  }
  const clean = await shell('lambda setup-git');
  t.is(clean.code, 0, clean.stderr);
  t.false(clean.stderr.includes('comes after'), 'a helper before lambda\'s section is reset for its server: no warning');
});

test.serial('a storing helper for the server written with a trailing slash, in the repository: no key is given, so none is stored', async (t) => {
  const work = await greetRepository(`${lambda.base}/git/greet.git`);
  const stored = path.join(home, '.git-credentials');
  const variant = `credential.${lambda.base}/.helper`;
  // git matches this key to the server (a path in a credential URL still matches), though it is not lambda's exact key.
  t.is((await shell(`git config '${variant}' store`, { cwd: work })).code, 0);
  const push = await shell('git push lambda main --force', { cwd: work });
  t.not(push.code, 0, 'no key, so the push is refused');
  t.true(push.stderr.includes(`no API token given: ${variant} "store" (file:.git/config) comes after lambda's helper`), push.stderr);
  t.false(fs.existsSync(stored) && fs.readFileSync(stored, 'utf8').includes(lambda.key), 'the key is not in ~/.git-credentials');
  const named = await shell('lambda setup-git', { cwd: work });
  t.is(named.code, 0, named.stderr);
  t.true(named.stderr.includes(`${variant} "store" (file:.git/config) comes after lambda's helper`), named.stderr);
  // Moved out of the way, the push works again and nothing is stored.
  t.is((await shell(`git config --unset '${variant}'`, { cwd: work })).code, 0);
  const again = await shell('git push lambda main --force', { cwd: work });
  t.is(again.code, 0, again.stderr);
  t.false(fs.existsSync(stored) && fs.readFileSync(stored, 'utf8').includes(lambda.key));
});

test('the lambda command on PATH is this checkout\'s CLI from examples/greet and from any folder', async (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-anywhere-'));
  try {
    for (const cwd of [path.join(ROOT, 'examples', 'greet'), elsewhere]) {
      // A registry that cannot answer: nothing here may need one.
      const version = await shell('command -v lambda && lambda --version', { cwd, env: { npm_config_registry: 'http://127.0.0.1:9/', npm_config_offline: 'true' } });
      t.is(version.code, 0, version.stderr);
      t.is(version.stdout, `${path.join(ROOT, 'bin', 'lambda')}\n${pkg.version}\n`);
      t.is(version.stderr, '');
    }
  } finally {
    fs.rmSync(elsewhere, { recursive: true, force: true });
  }
});
