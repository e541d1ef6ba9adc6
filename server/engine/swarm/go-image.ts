// The platform's own programs on a swarm (the relay, the node pruner): each a static Go binary built on the manager
// from its one source file and imported alone into an image FROM scratch, named by its source's hash, once per engine.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type Docker from 'dockerode';

const run = promisify(execFile);

/** A Go source beside the server's modules; the compiled server (dist/) finds it in the checkout's server/. */
export function goSource(url: URL, fallback: string): string {
  const file = fileURLToPath(url);
  return [file, file.replace(`${path.sep}dist${path.sep}server${path.sep}`, `${path.sep}server${path.sep}`)].find((each) => fs.existsSync(each)) ?? fallback;
}

/** `lambda/<name>:<hash of the source>` on the manager's engine, built now unless it is there; its entry point `/<name>`. */
export async function buildGoImage(docker: Docker, source: string, name: string, workDir: string): Promise<string> {
  const tag = `lambda/${name}:${createHash('sha256').update(fs.readFileSync(source)).digest('hex').slice(0, 12)}`;
  const exists = await docker.getImage(tag).inspect().then(() => true, () => false);
  if (exists) return tag;
  const binDir = path.join(workDir, name);
  fs.mkdirSync(binDir, { recursive: true });
  await run('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', path.join(binDir, name), source], {
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '' }, timeout: 300_000,
  }).catch((error: Error) => {
    throw new Error(`building the swarm's ${name} needs Go on the manager: ${error.message}`);
  });
  const tar = await run('tar', ['-C', binDir, '-cf', '-', name], { encoding: 'buffer', maxBuffer: 64 << 20 });
  // The docker CLI against the server's engine (DOCKER_HOST, as dockerode reads it): its import takes the entry point.
  const importing = run('docker', ['import', '--change', `ENTRYPOINT ["/${name}"]`, '-', tag], { timeout: 120_000, encoding: 'utf8' });
  importing.child.stdin?.end(tar.stdout);
  await importing;
  return tag;
}
