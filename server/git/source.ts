// Reads one commit of a bare repository (or of a push still in quarantine) with git plumbing; argv arrays only.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar';
import type { CommitSource } from '../functions/deps.js';
import { LambdaError } from '../errors.js';
import { MANIFEST_MAX_BYTES, manifestTooLarge } from '../functions/manifest.js';

const run = promisify(execFile);
const SHA = /^[0-9a-f]{40}$/;

/** Object-directory overrides git gives a pre-receive hook, so quarantined objects are readable. */
export interface ObjectEnv {
  GIT_OBJECT_DIRECTORY?: string;
  GIT_ALTERNATE_OBJECT_DIRECTORIES?: string;
}

/** `maxBytes` bounds the commit's files once unpacked (a pushed 200 MB blob, a tree of a million files). */
export function commitSource(gitDir: string, sha: string, maxBytes: number, objectEnv: ObjectEnv = {}): CommitSource {
  if (!SHA.test(sha)) throw new Error(`not a commit id: ${sha}`);
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_DIR: gitDir };
  for (const [key, value] of Object.entries(objectEnv)) if (value) env[key] = value;
  return {
    sha,
    async readFile(file) {
      try {
        // A little over the manifest's limit is read, so a larger file is refused by its size, not reported missing.
        const { stdout } = await run('git', ['cat-file', 'blob', `${sha}:${file}`], { env, maxBuffer: MANIFEST_MAX_BYTES + 1 });
        return stdout;
      } catch (error) {
        if ((error as { code?: string }).code !== 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return undefined;
        const { stdout } = await run('git', ['cat-file', '-s', `${sha}:${file}`], { env });
        throw manifestTooLarge(Number(stdout.trim()));
      }
    },
    async exportTo(dir) {
      const archive = spawn('git', ['archive', '--format=tar', sha], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      archive.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number>((resolve) => archive.on('close', (code) => resolve(code ?? 1)));
      // tar's extract refuses absolute paths and ".." entries, so a hostile tree cannot escape `dir`.
      let total = 0;
      let tooLarge = false;
      const unpack = extract({
        cwd: dir,
        filter: (_path, entry) => {
          total += (entry as { size?: number }).size ?? 0;
          if (total > maxBytes && !tooLarge) {
            tooLarge = true;
            archive.kill();
          }
          return !tooLarge;
        },
      });
      await pipeline(archive.stdout, unpack).catch((error: unknown) => {
        if (!tooLarge) throw error;
      });
      if (tooLarge) {
        throw new LambdaError('LAMBDA_ERR_CODE_TOO_LARGE', { limit: `${Math.round(maxBytes / 1024 / 1024)} MB` });
      }
      if ((await exited) !== 0) throw new Error(`git archive failed: ${stderr.trim()}`);
    },
  };
}
