// The data folder: created private to the server's user, and made private again when it already existed
// (systemd's StateDirectory= makes it 0755), with the database files inside it. Everything else lives below
// this folder, so no other local user reaches it whatever its own mode (build contexts must stay readable
// by the engine and the function's user, so the process umask is left alone).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';

const DATABASE_FILES = ['lambda.db', 'lambda.db-wal', 'lambda.db-shm'];

export function prepareDataDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  // Created now when missing, so SQLite opens a file that is already private; it gives its -wal and -shm
  // files the database's own mode.
  fs.closeSync(fs.openSync(path.join(dir, 'lambda.db'), 'a', 0o600));
  for (const file of DATABASE_FILES) {
    const full = path.join(dir, file);
    if (fs.existsSync(full)) fs.chmodSync(full, 0o600);
  }
}

/** A random key kept in the data folder (0600), made on first use: `instance-key` derives each instance's secret. */
export function dataDirKey(dir: string, name: string): Buffer {
  const file = path.join(dir, name);
  try {
    fs.writeFileSync(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  fs.chmodSync(file, 0o600);
  return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex');
}

/**
 * Holds the data folder for this server's life: a listening socket in Linux's abstract namespace named after the
 * folder's real path. Binding it is atomic and the kernel frees it when the process ends, however it ends, so two
 * servers started together cannot both pass and a crashed one leaves nothing stale. Without it a second start would
 * reconcile the engine first and remove the running server's instances as stale before failing on the port.
 * Returns the release.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const name = `\0lambda-data-${createHash('sha256').update(fs.realpathSync(dir)).digest('hex').slice(0, 32)}`;
  const lock = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    lock.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`another Lambda server is running on the data folder ${dir}: stop it first, or give this one another LAMBDA_DATA_DIR`) : error),
    );
    lock.listen(name, () => resolve());
  });
  lock.unref();
  return () => new Promise<void>((resolve) => lock.close(() => resolve()));
}
