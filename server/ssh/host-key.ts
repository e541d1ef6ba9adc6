// The SSH host key: generated once (ed25519) and kept in the data directory, mode 0600, so clients see the same key after a restart.
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';

const { utils } = ssh2;

export interface HostKey {
  privateKey: string;
  /** `SHA256:…`, as `ssh-keygen -lf` and OpenSSH's first-connection prompt print it. */
  fingerprint: string;
}

export function loadHostKey(file: string): HostKey {
  if (!fs.existsSync(file)) {
    try {
      fs.writeFileSync(file, newHostKey(), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another start made it first: use that one.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  fs.chmodSync(file, 0o600);
  const privateKey = fs.readFileSync(file, 'utf8');
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`the SSH host key ${file} cannot be read: ${parsed.message}; remove it to make a new one`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  const fingerprint = `SHA256:${createHash('sha256').update(key.getPublicSSH()).digest('base64').replace(/=+$/, '')}`;
  return { privateKey, fingerprint };
}

/**
 * A new ed25519 private key that ssh2 itself can read back: its generator strips leading zero bytes from the public
 * key, so about one key in 256 comes out malformed; such a key is made again rather than written.
 */
function newHostKey(): string {
  for (let attempt = 0; ; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519', { comment: 'lambda host key' });
    const parsed = utils.parseKey(pair.private);
    if (!(parsed instanceof Error) || attempt >= 16) return pair.private;
  }
}
