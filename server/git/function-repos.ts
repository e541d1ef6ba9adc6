// What versions, rollback and delete ask of a function's bare repository: a commit's files, commit subjects
// and authors, a ref per version so no commit a version was built from is ever collected, and removal.
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FunctionRepos } from '../functions/deps.js';
import type { Repos } from './repos.js';
import { commitSource } from './source.js';

const run = promisify(execFile);
const SHA = /^[0-9a-f]{40}$/;

export function createFunctionRepos(repos: Repos, maxCodeBytes: number): FunctionRepos {
  const git = (name: string, args: string[]) => run('git', args, { env: { ...process.env, GIT_DIR: repos.dir(name) }, maxBuffer: 16 * 1024 * 1024 });
  return {
    source: (name, sha) => commitSource(repos.dir(name), sha, maxCodeBytes),
    async describe(name, shas) {
      const found = new Map<string, { message: string; author: string }>();
      const wanted = shas.filter((sha) => SHA.test(sha));
      if (wanted.length === 0 || !repos.exists(name)) return found;
      const { stdout } = await git(name, ['log', '--no-walk=unsorted', '--ignore-missing', '--format=%H%x1f%an <%ae>%x1f%s%x1e', ...wanted]);
      for (const record of stdout.split('\x1e')) {
        const [sha, author, message] = record.trim().split('\x1f');
        if (sha && SHA.test(sha)) found.set(sha, { author: author ?? '', message: message ?? '' });
      }
      return found;
    },
    async keep(name, versions) {
      if (!repos.exists(name)) return;
      for (const version of versions) {
        if (!SHA.test(version.sha)) continue;
        // A push's own commit is still in quarantine while its deploy runs: it gets its ref at the next keep.
        await git(name, ['update-ref', `refs/lambda/v${version.number}`, version.sha]).catch(() => {});
      }
    },
    async remove(name) {
      fs.rmSync(repos.dir(name), { recursive: true, force: true });
    },
  };
}
