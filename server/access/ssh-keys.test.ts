// Unit tests of the keys verbs on real SQLite: parsing .pub lines, OpenSSH's fingerprint, duplicates, removal, the login lookup.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { LambdaError } from '../errors.js';
import { openStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { addSshKey, createSshKeyLookup, listSshKeys, parsePublicKey, removeSshKey } from './ssh-keys.js';

const test = anyTest as TestFn<{ store: Store; dir: string }>;

test.beforeEach((t) => {
  t.context.store = openStore(':memory:');
  t.context.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-sshkeys-'));
});

test.afterEach.always((t) => {
  t.context.store.close();
  fs.rmSync(t.context.dir, { recursive: true, force: true });
});

/** A real key pair from ssh-keygen: the .pub text and the fingerprint ssh-keygen prints for it. */
function keygen(dir: string, type: string, comment: string): { pub: string; fingerprint: string; priv: string } {
  const file = path.join(dir, `${type}-${comment}`);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', comment, '-f', file]);
  const fingerprint = execFileSync('ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1] as string;
  return { pub: fs.readFileSync(`${file}.pub`, 'utf8'), fingerprint, priv: fs.readFileSync(file, 'utf8') };
}

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof LambdaError ? error.code : String(error);
  }
  return 'no error';
};

for (const type of ['ed25519', 'rsa', 'ecdsa']) {
  test(`an ${type} key is added with the fingerprint ssh-keygen prints and its comment as name`, (t) => {
    const key = keygen(t.context.dir, type, `me@${type}`);
    const added = addSshKey({ store: t.context.store }, { publicKey: key.pub });
    t.is(added.fingerprint, key.fingerprint);
    t.is(added.name, `me@${type}`);
    t.regex(added.id, /^[0-9a-f]{12}$/);
    t.deepEqual(listSshKeys({ store: t.context.store }).map((one) => one.fingerprint), [key.fingerprint]);
  });
}

test('the same key twice is a conflict; --name wins over the comment', (t) => {
  const key = keygen(t.context.dir, 'ed25519', 'laptop');
  t.is(addSshKey({ store: t.context.store }, { publicKey: key.pub, name: 'work' }).name, 'work');
  t.is(code(() => addSshKey({ store: t.context.store }, { publicKey: key.pub })), 'LAMBDA_ERR_SSH_KEY_EXISTS');
});

const invalid = test.macro({
  exec(t, text: string, detail: RegExp) {
    const error = t.throws(() => parsePublicKey(text), { instanceOf: LambdaError });
    t.is(error?.code, 'LAMBDA_ERR_SSH_KEY_INVALID');
    t.regex(error?.message ?? '', detail);
  },
  title: (label = '') => `refused: ${label}`,
});

test('an empty file', invalid, '\n\n', /empty/);
test('two keys', invalid, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvJ0pW1w4KqjEo2v8m5i6T0F+3q6vR2p0o1b7h4s8Uf a\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvJ0pW1w4KqjEo2v8m5i6T0F+3q6vR2p0o1b7h4s8Uf b\n', /one key/);
test('an unknown type', invalid, 'ssh-dss AAAAB3NzaC1kc3MAAACBAP== x', /key type "ssh-dss"/);
test('authorized_keys options before the type', invalid, 'command="rm -rf /" ssh-ed25519 AAAA x', /key type/);
test('not base64', invalid, 'ssh-ed25519 AAAA$$$$ x', /not base64/);
test('a blob of another type', invalid, `ssh-ed25519 ${Buffer.from('\0\0\0\x07ssh-rsa0123456789').toString('base64')} x`, /not a ssh-ed25519 key/);
test('a truncated blob', invalid, `ssh-ed25519 ${Buffer.from('\0\0\0\x0bssh-ed25519').toString('base64')} x`, /not a ssh-ed25519 key/);
test('a private key', invalid, '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n', /private key/);

test('a name with control characters is refused', (t) => {
  const key = keygen(t.context.dir, 'ed25519', 'x');
  t.is(code(() => addSshKey({ store: t.context.store }, { publicKey: key.pub, name: 'a\x1b[31mb' })), 'LAMBDA_ERR_SSH_KEY_INVALID');
});

test('remove by id or by fingerprint; an unknown one is not found', (t) => {
  const deps = { store: t.context.store };
  const one = addSshKey(deps, { publicKey: keygen(t.context.dir, 'ed25519', 'one').pub });
  const two = addSshKey(deps, { publicKey: keygen(t.context.dir, 'ed25519', 'two').pub });
  removeSshKey(deps, { id: one.id });
  removeSshKey(deps, { id: two.fingerprint });
  t.deepEqual(listSshKeys(deps), []);
  t.is(code(() => removeSshKey(deps, { id: one.id })), 'LAMBDA_ERR_SSH_KEY_NOT_FOUND');
});

test('the login lookup finds only the exact stored key of the same type, and records its use', (t) => {
  const deps = { store: t.context.store };
  const key = keygen(t.context.dir, 'ed25519', 'me');
  const added = addSshKey(deps, { publicKey: key.pub });
  const blob = parsePublicKey(key.pub).blob;
  const lookup = createSshKeyLookup(deps, () => new Date('2026-11-30T12:00:00Z'));
  t.is(lookup('ssh-ed25519', blob)?.id, added.id);
  t.is(listSshKeys(deps)[0]?.lastUsedAt, '2026-11-30T12:00:00.000Z');
  t.is(lookup('ssh-rsa', blob), undefined, 'another type with the same blob');
  const other = parsePublicKey(keygen(t.context.dir, 'ed25519', 'other').pub).blob;
  t.is(lookup('ssh-ed25519', other), undefined);
  removeSshKey(deps, { id: added.id });
  t.is(lookup('ssh-ed25519', blob), undefined, 'a removed key stops at once');
});
