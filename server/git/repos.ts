// Function repositories on disk: bare repos with Lambda's hook, who is using each, and commits made from a directory
// (lambda deploy, a registration).
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { isLocked } from '../functions/lock.js';
import { assertFunctionName, assertNewFunctionName } from '../functions/names.js';
import { writeTree, type TreeOptions } from './tree.js';

const run = promisify(execFile);
const SHA = /^[0-9a-f]{40}$/;

export interface Repos {
  root: string;
  dir(name: string): string;
  exists(name: string): boolean;
  /** Creates the bare repository with its hook when missing. */
  ensure(name: string): Promise<string>;
  /**
   * Creates the repository when missing and holds it for one request (a push, a registration) until `release`. The
   * last request to let go of a repository with no branch removes it, unless `isFunction` says the name is a function
   * or a change (a push's deploy) still holds the function: so a request that fails never removes one another request
   * is writing to or deploying from.
   */
  claim(name: string, isFunction: () => boolean): Promise<RepoClaim>;
  /** Re-installs the hook and settings into every repository (after an upgrade or a moved control socket). */
  refreshHooks(): Promise<void>;
  /** Stores the files of `workTree` byte for byte as a tree object, committing nothing; returns the tree's id. */
  writeTree(name: string, workTree: string, options: TreeOptions): Promise<string>;
  /** Commits `tree` on top of main without moving main; returns the new commit id. */
  commitTree(name: string, tree: string, message: string): Promise<string>;
  /** The tree of commit `sha`, or undefined when the repository does not hold it. */
  treeOf(name: string, sha: string): Promise<string | undefined>;
  /** Moves main to `sha` if it still points at `expected` (undefined = no main yet). */
  updateMain(name: string, sha: string, expected: string | undefined): Promise<void>;
  head(name: string): Promise<string | undefined>;
}

export interface RepoClaim {
  gitDir: string;
  /** Lets go (once); resolves to true when that removed the repository. */
  release(): Promise<boolean>;
}

export interface RepoLimits {
  /** The largest pack a push may send (git's receive.maxInputSize). */
  maxPackBytes: number;
}

/** Unsets every attribute by which git converts, filters or leaves out a file on its way out of a commit. */
const AS_COMMITTED = '* -text -eol -crlf -ident -filter -working-tree-encoding -export-subst -export-ignore\n';

/** How often a last release that found a change still holding the function looks again. */
const RECHECK_MS = 1_000;

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
  // Pushed objects are checked (a malformed tree or blob is refused) and a push's size is bounded. A function's files
  // are its commit's bytes: the repository's own attributes, which outrank any .gitattributes in a commit, turn off
  // every rule that would change or drop a file when the commit is exported for a build.
  const configure = async (gitDir: string) => {
    fs.mkdirSync(path.join(gitDir, 'info'), { recursive: true });
    fs.writeFileSync(path.join(gitDir, 'info', 'attributes'), AS_COMMITTED);
    await run('git', ['config', '--file', path.join(gitDir, 'config'), 'receive.fsckObjects', 'true']);
    await run('git', ['config', '--file', path.join(gitDir, 'config'), 'receive.maxInputSize', String(limits.maxPackBytes)]);
  };
  const git = (gitDir: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
    run('git', args, { env: { ...process.env, GIT_DIR: gitDir, ...env }, maxBuffer: 16 * 1024 * 1024 });

  const head = async (name: string) => {
    try {
      return (await git(dir(name), ['rev-parse', '--verify', '-q', 'refs/heads/main'])).stdout.trim() || undefined;
    } catch {
      return undefined;
    }
  };

  // One creation at a time per name: two first pushes must not run `git init` over each other.
  const creating = new Map<string, Promise<string>>();
  const ensure = (name: string): Promise<string> => {
    const gitDir = dir(name);
    if (fs.existsSync(path.join(gitDir, 'HEAD'))) return Promise.resolve(gitDir);
    const pending = creating.get(name);
    if (pending) return pending;
    const made = (async () => {
      // A push that would make a new function: not under a name the server keeps for itself.
      assertNewFunctionName(name);
      await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', gitDir]);
      await configure(gitDir);
      installHook(gitDir);
      return gitDir;
    })().finally(() => creating.delete(name));
    creating.set(name, made);
    return made;
  };

  // Requests holding each repository; a name is here only while one does.
  const users = new Map<string, number>();
  const rechecks = new Map<string, NodeJS.Timeout>();
  const removeIfUnused = async (name: string, isFunction: () => boolean): Promise<boolean> => {
    const gitDir = dir(name);
    const unused = () => !users.has(name) && !isFunction() && fs.existsSync(path.join(gitDir, 'HEAD'));
    if (!unused()) return false;
    if (isLocked(name)) {
      // A push whose client went away may still be deploying from it: look again once that ends.
      if (!rechecks.has(name)) {
        const timer = setTimeout(() => {
          rechecks.delete(name);
          removeIfUnused(name, isFunction).catch(() => {});
        }, RECHECK_MS);
        timer.unref();
        rechecks.set(name, timer);
      }
      return false;
    }
    const refs = (await git(gitDir, ['for-each-ref', '--count=1', 'refs/'])).stdout.trim();
    // Looked at again with nothing awaited before the removal: a request that came meanwhile keeps it.
    if (refs !== '' || !unused() || isLocked(name)) return false;
    fs.rmSync(gitDir, { recursive: true, force: true });
    return true;
  };

  return {
    root,
    dir,
    exists: (name) => fs.existsSync(path.join(dir(name), 'HEAD')),
    ensure,
    async claim(name, isFunction) {
      users.set(name, (users.get(name) ?? 0) + 1);
      let released = false;
      const release = async () => {
        if (released) return false;
        released = true;
        const left = (users.get(name) ?? 1) - 1;
        if (left > 0) {
          users.set(name, left);
          return false;
        }
        users.delete(name);
        return removeIfUnused(name, isFunction);
      };
      try {
        return { gitDir: await ensure(name), release };
      } catch (error) {
        await release();
        throw error;
      }
    },
    async refreshHooks() {
      for (const entry of fs.readdirSync(root)) {
        if (!entry.endsWith('.git') || !fs.existsSync(path.join(root, entry, 'HEAD'))) continue;
        installHook(path.join(root, entry));
        await configure(path.join(root, entry));
      }
    },
    writeTree: (name, workTree, options) => writeTree(dir(name), workTree, options),
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
  };
}
