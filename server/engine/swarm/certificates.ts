// The swarm link's certificates, made with openssl: the platform's own authority, which instances pin (they trust
// nothing else), and the certificate it signs for the relays that end the instances' TLS connections.
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface KeyPair {
  certFile: string;
  keyFile: string;
}

/** The name every relay answers to on its function's overlay network, and that its certificate carries. */
export const RELAY_HOST = 'lambda-gateway';

// P-256: every TLS client the shims use (Node, Python's ssl, Go's crypto/tls) takes it, and its keys are made at once.
const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args, { timeout: 30_000 });
}

/**
 * Makes the authority in `dir` (`authority.pem`, `authority.key`) unless it is there. It signs only relay
 * certificates (`pathlen:0`); its key never leaves the manager's data folder.
 */
export async function ensureAuthority(dir: string): Promise<KeyPair> {
  const pair = { certFile: path.join(dir, 'authority.pem'), keyFile: path.join(dir, 'authority.key') };
  if (fs.existsSync(pair.certFile) && fs.existsSync(pair.keyFile)) return pair;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  await openssl(['req', '-x509', '-new', ...KEY, '-keyout', pair.keyFile, '-out', pair.certFile, '-days', '3650',
    '-subj', '/CN=lambda swarm authority',
    '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  fs.chmodSync(pair.keyFile, 0o600);
  return pair;
}

/** Signs a server certificate for `RELAY_HOST` with the authority, written to `dir` as `<name>.pem` and `<name>.key`. */
export async function signRelayCertificate(authority: KeyPair, dir: string, name: string): Promise<KeyPair> {
  if (!/^[a-z0-9-]{1,64}$/.test(name)) throw new Error(`not a certificate name: ${name}`);
  const pair = { certFile: path.join(dir, `${name}.pem`), keyFile: path.join(dir, `${name}.key`) };
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  await openssl(['req', '-x509', '-new', ...KEY, '-keyout', pair.keyFile, '-out', pair.certFile, '-days', '825',
    '-subj', `/CN=${RELAY_HOST}`, '-CA', authority.certFile, '-CAkey', authority.keyFile,
    '-addext', `subjectAltName=DNS:${RELAY_HOST}`, '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'keyUsage=critical,digitalSignature', '-addext', 'extendedKeyUsage=serverAuth']);
  fs.chmodSync(pair.keyFile, 0o600);
  return pair;
}
