// API keys: creation, the first-start admin key, and constant-time verification. Only SHA-256 hashes are stored.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/types.js';

const hash = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');
// Keys are random 256-bit secrets, so a fast hash is enough; the id (a hash prefix) finds the row
// and the full hashes are then compared in constant time.
const idOf = (keyHash: string): string => keyHash.slice(0, 16);

/** Stores the hash of `key` (or of a new random key) and returns the key in plain text, the only time it exists. */
export function createKey(store: Store, label: string, key = `lambda_${randomBytes(32).toString('base64url')}`): string {
  const keyHash = hash(key);
  if (!store.keys.get(idOf(keyHash))) {
    store.keys.insert({ id: idOf(keyHash), hash: keyHash, label, createdAt: new Date().toISOString() });
  }
  return key;
}

/** True when `presented` is a stored key. */
export function verifyKey(store: Store, presented: string | undefined): boolean {
  if (!presented || presented.length > 512) return false;
  const presentedHash = Buffer.from(hash(presented), 'hex');
  const record = store.keys.get(idOf(presentedHash.toString('hex')));
  if (!record) return false;
  return timingSafeEqual(presentedHash, Buffer.from(record.hash, 'hex'));
}

/**
 * On first start, creates the admin key: `seed` (LAMBDA_API_KEY) when given, else a random one.
 * Returns the new key when one was generated, so the caller can print it once.
 */
export function bootstrapAdminKey(store: Store, seed: string | undefined): { generated?: string } {
  if (seed) {
    createKey(store, 'admin', seed);
    return {};
  }
  if (store.keys.count() > 0) return {};
  return { generated: createKey(store, 'admin') };
}
