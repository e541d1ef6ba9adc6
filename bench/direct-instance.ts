// The benchmark's baseline for warm traffic: the same image, hardened the same way, reached straight over its
// host-owned socket (the shim dials in, as it does for the server) with nothing between client and shim.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { command } from '../test/helpers/lambda.js';
import { InstanceLink } from '../server/instances/link.js';

export interface DirectInstance {
  pool: Pool;
  /** The host end of the instance's socket, for a baseline of its own (bench/baselines.ts: the byte pipe). */
  link: InstanceLink;
  close(): Promise<void>;
}

/** Runs `image` with `handler` in a container of its own and returns an HTTP pool straight to its shim. */
export async function startDirectInstance(image: string, handler: string, fn: string): Promise<DirectInstance> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-bench-direct-'));
  fs.chmodSync(dir, 0o755);
  const link = new InstanceLink(path.join(dir, 'host.sock'));
  // The shim sends its output and REPORT lines here, as to the server's log socket; the baseline reads and drops them.
  const logSink = net.createServer((socket) => socket.resume());
  logSink.listen(path.join(dir, 'log.sock'));
  fs.chmodSync(path.join(dir, 'log.sock'), 0o666);
  const name = `lambda-bench-direct-${process.pid}`;
  const started = await command('docker', [
    'run', '-d', '--rm', '--name', name, '--network', 'none', '--read-only', '--tmpfs', '/tmp:rw,noexec,nosuid,size=64m',
    '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--pids-limit', '256', '--memory', '256m', '--cpus', '1',
    '--user', '10001:10001', '-v', `${dir}:/run/lambda:ro`,
    '-e', `LAMBDA_HANDLER=${handler}`, '-e', `LAMBDA_FUNCTION_NAME=${fn}`, '-e', 'LAMBDA_FUNCTION_VERSION=1', '-e', 'LAMBDA_SOCKET_DIR=/run/lambda',
    '--log-driver', 'none', image,
  ]);
  if (started.code !== 0) throw new Error(`docker run failed: ${started.stderr}`);
  if (!(await link.ready(20_000))) throw new Error('the direct instance never dialled in');
  const pool = new Pool('http://instance', {
    connections: 64,
    connect: (_options, callback) => {
      link.take().then(
        (socket) => callback(null, socket),
        (error: Error) => callback(error, null),
      );
    },
  });
  return {
    pool,
    link,
    async close() {
      await pool.close();
      link.close();
      logSink.close();
      await command('docker', ['rm', '-f', name]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
