// Git over SSH: runs git receive-pack/upload-pack (argv, never a shell) on the function's bare repository, so the
// same pre-receive hook deploys and its output reaches `git push` as the same `remote:` lines as over HTTP.
import { spawn } from 'node:child_process';
import { LambdaError } from '../errors.js';
import type { Repos } from '../git/repos.js';
import type { SshChannel } from './channel.js';

export interface GitOverSsh {
  repos: Repos;
  isFunction(name: string): boolean;
}

/**
 * Resolves to git's exit status. A push holds the repository (made on a first push) while git runs, its deploy
 * included; a rejected first push's repository goes with it, unless another request holds it too.
 */
export async function serveGit(deps: GitOverSsh, service: 'receive-pack' | 'upload-pack', name: string, channel: SshChannel): Promise<number> {
  if (service === 'upload-pack') {
    if (!deps.repos.exists(name)) throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
    return runGit(deps, service, name, channel);
  }
  const claim = await deps.repos.claim(name, () => deps.isFunction(name));
  try {
    return await runGit(deps, service, name, channel);
  } finally {
    await claim.release().catch(() => false);
  }
}

function runGit(deps: GitOverSsh, service: 'receive-pack' | 'upload-pack', name: string, channel: SshChannel): Promise<number> {
  const child = spawn('git', [service, deps.repos.dir(name)], { stdio: ['pipe', 'pipe', 'pipe'] });
  channel.stdin.pipe(child.stdin);
  child.stdin.on('error', () => {});
  child.stdout.on('data', (chunk: Buffer) => channel.stdout.write(chunk));
  child.stderr.on('data', (chunk: Buffer) => channel.stderr.write(chunk));
  // A client that goes away ends git (and, through it, a hook waiting on the control socket).
  const stop = () => child.kill('SIGTERM');
  channel.onClose(stop);
  return new Promise<number>((resolve) => {
    child.once('error', () => resolve(1));
    child.once('close', (code) => resolve(code ?? 1));
  });
}
