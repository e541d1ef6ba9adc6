// The relay's certificate against the TLS clients the shims have: Node's tls and Python 3's ssl each trust the
// platform's authority alone when given it, and refuse a relay whose certificate another authority signed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { RELAY_HOST, ensureAuthority, signRelayCertificate, type KeyPair } from './certificates.js';

const run = promisify(execFile);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-certs-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A TLS server with `pair` that answers each line with `ok`; its port. */
async function relayWith(pair: KeyPair): Promise<{ port: number; close(): void }> {
  const server = tls.createServer({ cert: fs.readFileSync(pair.certFile), key: fs.readFileSync(pair.keyFile), minVersion: 'TLSv1.3' }, (socket) => {
    socket.once('data', () => socket.end('ok\n'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

function nodeClient(port: number, authority: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: RELAY_HOST, ca: fs.readFileSync(authority) }, () => socket.write('hello\n'));
    let answer = '';
    socket.on('data', (chunk) => { answer += chunk.toString(); });
    socket.on('end', () => resolve(answer.trim()));
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

// The python3 runtime's shim would open its link the same way: a context that loads this authority and no other.
const PYTHON = `
import socket, ssl, sys
context = ssl.create_default_context(cafile=sys.argv[2])
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="${RELAY_HOST}") as conn:
            conn.sendall(b"hello\\n")
            print(conn.recv(100).decode().strip())
except ssl.SSLCertVerificationError as error:
    print(error.reason)
`;

async function pythonClient(port: number, authority: string): Promise<string> {
  const { stdout } = await run('python3', ['-c', PYTHON, String(port), authority], { timeout: 20_000 });
  return stdout.trim();
}

test('Node and Python 3 reach a relay the platform\'s authority signed, and refuse one another authority signed', async (t) => {
  const authority = await ensureAuthority(path.join(dir, 'platform'));
  t.deepEqual(await ensureAuthority(path.join(dir, 'platform')), authority, 'made once, then read');
  t.is(fs.statSync(authority.keyFile).mode & 0o777, 0o600);
  const impostor = await ensureAuthority(path.join(dir, 'impostor'));
  const relay = await relayWith(await signRelayCertificate(authority, path.join(dir, 'relays'), 'fn-a'));
  const forged = await relayWith(await signRelayCertificate(impostor, path.join(dir, 'forged'), 'fn-a'));
  try {
    t.is(await nodeClient(relay.port, authority.certFile), 'ok');
    t.is(await pythonClient(relay.port, authority.certFile), 'ok');
    t.is(await nodeClient(forged.port, authority.certFile), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    t.is(await pythonClient(forged.port, authority.certFile), 'CERTIFICATE_VERIFY_FAILED');
  } finally {
    relay.close();
    forged.close();
  }
});

test('a relay certificate name that could reach another file is refused', async (t) => {
  const authority = await ensureAuthority(path.join(dir, 'names'));
  await t.throwsAsync(signRelayCertificate(authority, dir, '../x'), { message: /not a certificate name/ });
});
