// Function repositories on disk: bare repos with Lambda's hook, and commits made from a directory (lambda deploy).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { assertFunctionName, assertNewFunctionName } from '../functions/names.js';

const run = promisify(execFile);
const SHA = /^[0-9a-f]{40}$/;

export interface Repos {
  root: string;
  dir(name: string): string;
  exists(name: string): boolean;
  /** Creates the bare repository with its hook when missing. */
  ensure(name: string): Promise<string>;
  /** Re-installs the hook and settings into every repository (after an upgrade or a moved control socket). */
  refreshHooks(): Promise<void>;
  /** Stores the contents of `workTree` as a tree object, committing nothing; returns the tree's id. */
  writeTree(name: string, workTree: string): Promise<string>;
  /** Commits `tree` on top of main without moving main; returns the new commit id. */
  commitTree(name: string, tree: string, message: string): Promise<string>;
  /** The tree of commit `sha`, or undefined when the repository does not hold it. */
  treeOf(name: string, sha: string): Promise<string | undefined>;
  /** Moves main to `sha` if it still points at `expected` (undefined = no main yet). */
  updateMain(name: string, sha: string, expected: string | undefined): Promise<void>;
  head(name: string): Promise<string | undefined>;
  /** Removes the repository when it holds no branch at all (a new function whose first deploy failed). */
  removeIfEmpty(name: string): Promise<boolean>;
}

export interface RepoLimits {
  /** The largest pack a push may send (git's receive.maxInputSize). */
  maxPackBytes: number;
}

export function createRepos(root: string, hookSource: string, controlSocket: string, limits: RepoLimits): Repos {
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  fs.chmodSync(root, 0o700);
  const hook = fs.readFileSync(hookSource, 'utf8').replace('__CONTROL_SOCKET__', controlSocket);
  const dir = (name: string) => path.join(root, `${assertFunctionName(name)}.git`);
  const installHook = (gitDir: string) => {
    const target = path.join(gitDir, 'hooks', 'pre-receive');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, hook, { mode: 0o700 });
    fs.chmodSync(target, 0o700);
  };
  // Pushed objects are checked (a malformed tree or blob is refused) and a push's size is bounded.
  const configure = async (gitDir: string) => {
    await run('git', ['config', '--file', path.join(gitDir, 'config'), 'receive.fsckObjects', 'true']);
    await run('git', ['config', '--file', path.join(gitDir, 'config'), 'receive.maxInputSize', String(limits.maxPackBytes)]);
  };
  const git = (gitDir: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string) =>
    run('git', args, { env: { ...process.env, GIT_DIR: gitDir, ...env }, cwd, maxBuffer: 16 * 1024 * 1024 });

  const head = async (name: string) => {
    try {
      return (await git(dir(name), ['rev-parse', '--verify', '-q', 'refs/heads/main'])).stdout.trim() || undefined;
    } catch {
      return undefined;
    }
  };

  return {
    root,
    dir,
    exists: (name) => fs.existsSync(path.join(dir(name), 'HEAD')),
    async ensure(name) {
      const gitDir = dir(name);
      if (!fs.existsSync(path.join(gitDir, 'HEAD'))) {
        // A push that would make a new function: not under a name the server keeps for itself.
        assertNewFunctionName(name);
        await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', gitDir]);
        await configure(gitDir);
        installHook(gitDir);
      }
      return gitDir;
    },
    async refreshHooks() {
      for (const entry of fs.readdirSync(root)) {
        if (!entry.endsWith('.git') || !fs.existsSync(path.join(root, entry, 'HEAD'))) continue;
        installHook(path.join(root, entry));
        await configure(path.join(root, entry));
      }
    },
    async writeTree(name, workTree) {
      const index = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-index-')), 'index');
      const env = { GIT_INDEX_FILE: index, GIT_WORK_TREE: workTree };
      try {
        await git(dir(name), ['add', '--all', '.'], env, workTree);
        return (await git(dir(name), ['write-tree'], env)).stdout.trim();
      } finally {
        fs.rmSync(path.dirname(index), { recursive: true, force: true });
      }
    },
    async commitTree(name, tree, message) {
      const parent = await head(name);
      const identity = { GIT_AUTHOR_NAME: 'lambda deploy', GIT_AUTHOR_EMAIL: 'deploy@lambda.local', GIT_COMMITTER_NAME: 'lambda deploy', GIT_COMMITTER_EMAIL: 'deploy@lambda.local' };
      const args = ['commit-tree', tree, '-m', message, ...(parent ? ['-p', parent] : [])];
      return (await git(dir(name), args, identity)).stdout.trim();
    },
    async treeOf(name, sha) {
      if (!SHA.test(sha)) return undefined;
      try {
        return (await git(dir(name), ['rev-parse', '--verify', '-q', `${sha}^{tree}`])).stdout.trim() || undefined;
      } catch {
        return undefined;
      }
    },
    async updateMain(name, sha, expected) {
      await git(dir(name), ['update-ref', 'refs/heads/main', sha, expected ?? '0'.repeat(40)]);
    },
    head,
    async removeIfEmpty(name) {
      const gitDir = dir(name);
      if (!fs.existsSync(path.join(gitDir, 'HEAD'))) return false;
      const refs = (await git(gitDir, ['for-each-ref', '--count=1', 'refs/'])).stdout.trim();
      if (refs !== '') return false;
      fs.rmSync(gitDir, { recursive: true, force: true });
      return true;
    },
  };
}
