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

/** Resolves to git's exit status. A repository is made on a first push, and removed again if that push was rejected. */
export async function serveGit(deps: GitOverSsh, service: 'receive-pack' | 'upload-pack', name: string, channel: SshChannel): Promise<number> {
  if (!deps.repos.exists(name)) {
    if (service === 'upload-pack') throw new LambdaError('LAMBDA_ERR_FUNCTION_NOT_FOUND', { name });
    await deps.repos.ensure(name);
  }
  const child = spawn('git', [service, deps.repos.dir(name)], { stdio: ['pipe', 'pipe', 'pipe'] });
  channel.stdin.pipe(child.stdin);
  child.stdin.on('error', () => {});
  child.stdout.on('data', (chunk: Buffer) => channel.stdout.write(chunk));
  child.stderr.on('data', (chunk: Buffer) => channel.stderr.write(chunk));
  // A client that goes away ends git (and, through it, a hook waiting on the control socket).
  const stop = () => child.kill('SIGTERM');
  channel.onClose(stop);
  const status = await new Promise<number>((resolve) => {
    child.once('error', () => resolve(1));
    child.once('close', (code) => resolve(code ?? 1));
  });
  if (service === 'receive-pack' && !deps.isFunction(name)) await deps.repos.removeIfEmpty(name).catch(() => false);
  return status;
}
