// The keys verbs: add, list and remove the SSH public keys that may log in as `lambda`, and the login check.
import { createHash, timingSafeEqual } from 'node:crypto';
import { LambdaError } from '../errors.js';
import type { SshKeyRecord } from '../store/types.js';
import type { Deps } from '../functions/deps.js';

/** A key as it is shown. */
export interface SshKeySummary {
  id: string;
  name: string;
  algorithm: string;
  fingerprint: string;
  createdAt: string;
  /** To the minute; null when never used. */
  lastUsedAt: string | null;
}

/** Key types OpenSSH's ssh-keygen makes and ssh2 can verify. */
const ALGORITHMS = new Set(['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521']);
const MAX_NAME_LENGTH = 64;
/** An RSA key of 16384 bits is about 2.8 kB of base64; anything longer is not a public key. */
const MAX_LINE_LENGTH = 16 * 1024;
const TOUCH_EVERY_MS = 60_000;

/** `SHA256:` and the unpadded base64 SHA-256 of the key blob: what `ssh-keygen -lf key.pub` prints. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Reads one OpenSSH public key line (`ssh-ed25519 AAAA… comment`): the type, the blob, and the comment.
 * Throws LAMBDA_ERR_SSH_KEY_INVALID for anything else, a private key included.
 */
export function parsePublicKey(text: string): { algorithm: string; blob: Buffer; comment: string } {
  const invalid = (detail: string) => new LambdaError('LAMBDA_ERR_SSH_KEY_INVALID', { detail });
  if (text.includes('PRIVATE KEY')) throw invalid('this is a private key; add the .pub file beside it');
  const lines = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  if (lines.length !== 1) throw invalid(lines.length === 0 ? 'the file is empty' : 'give one key, on one line');
  const line = lines[0] as string;
  if (line.length > MAX_LINE_LENGTH) throw invalid('the line is too long for a public key');
  const [algorithm = '', encoded = '', ...rest] = line.split(/\s+/);
  if (!ALGORITHMS.has(algorithm)) throw invalid(`the key type "${algorithm.slice(0, 40)}" is not one of ${[...ALGORITHMS].join(', ')} (options before the type are not supported)`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw invalid('the key is not base64');
  const blob = Buffer.from(encoded, 'base64');
  // The blob starts with its own type as an SSH string; a mismatch means a damaged or doctored line.
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (length !== algorithm.length || blob.subarray(4, 4 + length).toString('latin1') !== algorithm || blob.length < 4 + length + 8) {
    throw invalid(`the key data is not a ${algorithm} key`);
  }
  return { algorithm, blob, comment: rest.join(' ') };
}

/** Every key, oldest first. */
export function listSshKeys(deps: Pick<Deps, 'store'>): SshKeySummary[] {
  return deps.store.sshKeys.list().map(summary);
}

/**
 * Adds the key in `publicKey` (the text of a .pub file). `name` defaults to the key's comment. Throws
 * LAMBDA_ERR_SSH_KEY_INVALID for a line that is not a public key or a bad name, LAMBDA_ERR_SSH_KEY_EXISTS when
 * the same key is already there.
 */
export function addSshKey(deps: Pick<Deps, 'store'>, input: { publicKey: string; name?: string }, now = new Date()): SshKeySummary {
  const { algorithm, blob, comment } = parsePublicKey(input.publicKey);
  const name = (input.name ?? comment).trim();
  if (name.length > MAX_NAME_LENGTH || /\p{Cc}/u.test(name)) {
    throw new LambdaError('LAMBDA_ERR_SSH_KEY_INVALID', { detail: `a key name is at most ${MAX_NAME_LENGTH} printable characters` });
  }
  const fingerprint = fingerprintOf(blob);
  const record: SshKeyRecord = {
    id: createHash('sha256').update(blob).digest('hex').slice(0, 12),
    name,
    algorithm,
    publicKey: blob.toString('base64'),
    fingerprint,
    createdAt: now.toISOString(),
    lastUsedAt: null,
  };
  if (!deps.store.sshKeys.insert(record)) throw new LambdaError('LAMBDA_ERR_SSH_KEY_EXISTS', { fingerprint });
  return summary(record);
}

/** Removes a key by id or fingerprint: it stops opening sessions at once. Throws LAMBDA_ERR_SSH_KEY_NOT_FOUND. */
export function removeSshKey(deps: Pick<Deps, 'store'>, input: { id: string }): void {
  if (!deps.store.sshKeys.remove(input.id)) {
    throw new LambdaError('LAMBDA_ERR_SSH_KEY_NOT_FOUND', { id: input.id.slice(0, 80).replace(/[^\x20-\x7e]/g, '?') });
  }
}

/** Looks a presented key up; the one the caller must verify the signature with, or undefined. */
export type SshKeyLookup = (algorithm: string, blob: Buffer) => SshKeyRecord | undefined;

/**
 * The login check's first half: finds the stored key equal to the one a client presents (found by fingerprint,
 * then compared whole in constant time) and records its use to the minute. The SSH adapter verifies the signature.
 */
export function createSshKeyLookup(deps: Pick<Deps, 'store'>, now: () => Date = () => new Date()): SshKeyLookup {
  const touched = new Map<string, number>();
  return (algorithm, blob) => {
    const record = deps.store.sshKeys.byFingerprint(fingerprintOf(blob));
    if (!record) return undefined;
    const stored = Buffer.from(record.publicKey, 'base64');
    // ssh-rsa keys sign as rsa-sha2-256/512, but the blob keeps the type ssh-rsa.
    const sameType = record.algorithm === algorithm || (record.algorithm === 'ssh-rsa' && /^rsa-sha2-(256|512)$/.test(algorithm));
    if (!sameType || stored.length !== blob.length || !timingSafeEqual(stored, blob)) return undefined;
    const at = now();
    if (at.getTime() - (touched.get(record.id) ?? 0) >= TOUCH_EVERY_MS) {
      touched.set(record.id, at.getTime());
      deps.store.sshKeys.touch(record.id, at.toISOString());
    }
    return record;
  };
}

function summary({ id, name, algorithm, fingerprint, createdAt, lastUsedAt }: SshKeyRecord): SshKeySummary {
  return { id, name, algorithm, fingerprint, createdAt, lastUsedAt };
}
