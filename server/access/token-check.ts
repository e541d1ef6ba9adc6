// API keys at rest and at the door: how keys are hashed, the first-start admin key (LAMBDA_API_KEY rotation), verification and scopes.
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { LambdaError } from '../errors.js';
import type { TokenRecord, Store } from '../store/types.js';
import type { AuthLimiter } from './auth-limit.js';

/** Keys longer than this are refused unhashed: no real key is, and hashing megabytes per request costs. */
const MAX_KEY_LENGTH = 512;
/** A LAMBDA_API_KEY shorter than this is refused at start: a word or a PIN is guessed, however slow each guess. */
export const MIN_SEED_LENGTH = 16;
/** Node's defaults (about 16 MB and tens of ms per hash); stored with each hash, so they can be raised later. */
const SCRYPT = { N: 16384, r: 8, p: 1, keyLength: 32, saltBytes: 16 };
/** `last used` is written at most this often per key, so verification stays a read on the hot path. */
const TOUCH_EVERY_MS = 60_000;

const scryptAsync = (key: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scrypt(key, salt, length, options, (error, hash) => (error ? reject(error) : resolve(hash))));
const sha256 = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();
// A generated key is a random 256-bit secret, so a fast hash is enough and a prefix of it is a safe public id.
const idOf = (digest: Buffer): string => digest.toString('hex').slice(0, 16);

/** A new random key in the form people see: `lambda_` and 43 base64url characters. */
export function generateKey(): string {
  return `lambda_${randomBytes(32).toString('base64url')}`;
}

/** The record for a generated key: SHA-256, found by its hash prefix. */
export function generatedTokenRecord(key: string, name: string, now = new Date()): TokenRecord {
  const digest = sha256(key);
  return { id: idOf(digest), scheme: 'sha256', hash: digest.toString('hex'), name, createdAt: now.toISOString(), lastUsedAt: null };
}

/**
 * The record for a key a person chose (LAMBDA_API_KEY): salted scrypt, and a random id, since an id
 * derived from a fast hash would let anyone who sees it guess a weak key offline.
 */
export function chosenTokenRecord(key: string, name: string, now = new Date()): TokenRecord {
  const salt = randomBytes(SCRYPT.saltBytes);
  const hash = scryptSync(key, salt, SCRYPT.keyLength, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  const encoded = ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('hex'), hash.toString('hex')].join(':');
  return { id: randomBytes(8).toString('hex'), scheme: 'scrypt', hash: encoded, name, createdAt: now.toISOString(), lastUsedAt: null };
}

/** The parts of a stored scrypt hash, or undefined for a damaged one. */
function parseScrypt(record: TokenRecord): { salt: Buffer; expected: Buffer; options: ScryptOptions } | undefined {
  const [scheme, N, r, p, salt, hash] = record.hash.split(':');
  if (scheme !== 'scrypt' || !salt || !hash) return undefined;
  return { salt: Buffer.from(salt, 'hex'), expected: Buffer.from(hash, 'hex'), options: { N: Number(N), r: Number(r), p: Number(p), maxmem: 256 * 1024 * 1024 } };
}

/** True when `presented` is the key behind a scrypt record, compared in constant time; off the event loop. */
async function matchesScrypt(record: TokenRecord, presented: string): Promise<boolean> {
  const parts = parseScrypt(record);
  if (!parts) return false;
  try {
    return timingSafeEqual(await scryptAsync(presented, parts.salt, parts.expected.length, parts.options), parts.expected);
  } catch {
    // Parameters this Node cannot use (a damaged row) match nothing rather than failing every request.
    return false;
  }
}

/** The same check, blocking: only at start, before any request is served. */
function matchesScryptNow(record: TokenRecord, presented: string): boolean {
  const parts = parseScrypt(record);
  if (!parts) return false;
  try {
    return timingSafeEqual(scryptSync(presented, parts.salt, parts.expected.length, parts.options), parts.expected);
  } catch {
    return false;
  }
}

/** True when `digest` is the SHA-256 of a generated key stored under its prefix. */
function matchesSha256(record: TokenRecord | undefined, digest: Buffer): record is TokenRecord {
  if (record?.scheme !== 'sha256') return false;
  const stored = Buffer.from(record.hash, 'hex');
  return stored.length === digest.length && timingSafeEqual(stored, digest);
}

/**
 * Checks a presented key: true when it belongs to a stored, unrevoked key. `client` (an address, see
 * auth-limit.ts's clientOf) is who a wrong key counts against; with a limiter, a client over its allowance gets
 * LAMBDA_ERR_AUTH_RATE_LIMITED thrown instead of an answer, and nothing is hashed slowly for it.
 */
export type KeyVerifier = ((presented: string | undefined, client?: string) => Promise<boolean>) & {
  /** The token a presented key belongs to (its id and name), for releases' "who"; undefined for none. */
  identify(presented: string | undefined): Promise<{ id: string; name: string } | undefined>;
  /**
   * The check at an `auth: key` function's door: true for an admin key or an invoke token for any function or for
   * `fn`; an invoke token made for another function throws LAMBDA_ERR_FORBIDDEN.
   */
  invoke(presented: string | undefined, client: string | undefined, fn: string): Promise<boolean>;
};

export interface KeyVerifierOptions {
  /** Wrong keys per client and slow hashes at once (auth-limit.ts); without it nothing is limited. */
  limiter?: AuthLimiter;
  /** The key this start was seeded with and its row: known already, so it never costs a scrypt at request time. */
  seed?: { key: string; id: string };
}

/** The form generate() gives: such a key is only ever stored as SHA-256, so it is never worth a scrypt. */
export const isGeneratedForm = (key: string): boolean => /^lambda_[A-Za-z0-9_-]{43}$/.test(key);

/**
 * Returns the server's key check. A generated key costs one indexed read and a constant-time
 * compare. A chosen key costs one scrypt per scrypt row (in libuv's thread pool, so a stream of
 * wrong keys cannot stall the event loop) the first time it is seen; after that it is remembered
 * by the SHA-256 of what was presented (in memory only), and each use still checks that its row
 * exists, so a revoked key fails at once. A key in the generated form, or any key while no scrypt
 * row exists, is never hashed slowly. Records when each key was last used, to the minute.
 */
export function createKeyVerifier(store: Store, now: () => Date = () => new Date(), options: KeyVerifierOptions = {}): KeyVerifier {
  const verified = new Map<string, string>();
  const touched = new Map<string, number>();
  const { limiter } = options;
  if (options.seed) verified.set(sha256(options.seed.key).toString('hex'), options.seed.id);

  /** The row's id, or undefined; `slow` says a scrypt was charged to the client for it. */
  const find = async (presented: string, client: string | undefined): Promise<{ id?: string; slow: boolean }> => {
    const digest = sha256(presented);
    const byPrefix = store.tokens.get(idOf(digest));
    if (matchesSha256(byPrefix, digest)) return { id: byPrefix.id, slow: false };

    const cacheKey = digest.toString('hex');
    const remembered = verified.get(cacheKey);
    if (remembered !== undefined) {
      if (store.tokens.get(remembered)) return { id: remembered, slow: false };
      verified.delete(cacheKey);
    }
    if (isGeneratedForm(presented)) return { slow: false };
    // The expensive part: refused before any hashing when the client is out of allowance or the server is busy hashing.
    if (client !== undefined) limiter?.check(client);
    const rows = store.tokens.withScheme('scrypt');
    if (rows.length === 0) return { slow: false };
    const release = limiter?.slowSlot();
    if (client !== undefined) limiter?.charge(client);
    try {
      for (const record of rows) {
        if (await matchesScrypt(record, presented)) {
          // Revoked while its hash was being computed: not a key any more.
          if (!store.tokens.get(record.id)) return { slow: true };
          verified.set(cacheKey, record.id);
          if (client !== undefined) limiter?.refund(client);
          limiter?.refundSlow();
          return { id: record.id, slow: true };
        }
      }
    } finally {
      release?.();
    }
    return { slow: true };
  };

  const identify = async (presented: string | undefined) => {
    if (!presented || presented.length > MAX_KEY_LENGTH) return undefined;
    const { id } = await find(presented, undefined);
    const record = id === undefined ? undefined : store.tokens.get(id);
    return record && { id: record.id, name: record.name };
  };

  /** The stored key behind `presented`, or undefined (a wrong key, charged to `client`). */
  const recordOf = async (presented: string | undefined, client: string | undefined): Promise<TokenRecord | undefined> => {
    // No key at all is not a guess (git asks without one first): refused, not counted.
    if (!presented) return undefined;
    const { id, slow } = presented.length > MAX_KEY_LENGTH ? { slow: false } : await find(presented, client);
    const record = id === undefined ? undefined : store.tokens.get(id);
    if (!record) {
      if (!slow && client !== undefined && limiter) {
        limiter.check(client);
        limiter.charge(client);
      }
      return undefined;
    }
    const at = now();
    if (at.getTime() - (touched.get(record.id) ?? 0) >= TOUCH_EVERY_MS) {
      touched.set(record.id, at.getTime());
      store.tokens.touch(record.id, at.toISOString());
    }
    return record;
  };

  // The REST API, `/metrics` and git: admin keys only; an invoke token is a right key at the wrong door, so 403, not 401.
  const verify = async (presented: string | undefined, client?: string) => {
    const record = await recordOf(presented, client);
    if (!record) return false;
    if ((record.scope ?? 'admin') !== 'admin') throw forbidden(record, 'the REST API, `/metrics`, git or SSH');
    return true;
  };

  const invoke = async (presented: string | undefined, client: string | undefined, fn: string) => {
    const record = await recordOf(presented, client);
    if (!record) return false;
    if ((record.scope ?? 'admin') === 'admin' || !record.function || record.function === fn) return true;
    throw forbidden(record, `function "${fn}"`);
  };
  return Object.assign(verify, { identify, invoke });
}

function forbidden(record: TokenRecord, where: string): LambdaError {
  return new LambdaError('LAMBDA_ERR_FORBIDDEN', { what: record.function ? `function "${record.function}"` : '`auth: key` functions', where });
}

/**
 * Makes sure the server can be reached at start. With `seed` (LAMBDA_API_KEY) that key is stored,
 * salted and scrypt-hashed, unless it already is; a seed stored by an older release as plain
 * SHA-256 is hashed again with scrypt. A seed in the generated form (`lambda_` and 43 characters: a
 * generated key given back to the server) is stored as generated keys are, SHA-256, since such keys
 * are never checked with scrypt. The variable names *the* admin key: a key an earlier start seeded with another
 * value is revoked (tokens created with `lambda tokens create` stay). A seed shorter than MIN_SEED_LENGTH is
 * refused with an Error saying how to make a key. Without a seed, the first start generates an admin key and
 * returns it so the caller can print it once. `seedId` is the row the seed is stored in; `revoked` counts the
 * earlier seeded keys removed.
 */
export function bootstrapAdminKey(store: Store, seed: string | undefined): { generated?: string; seedId?: string; revoked?: number } {
  if (seed) {
    assertStrongSeed(seed);
    const seedId = seedKey(store, seed);
    return { seedId, revoked: store.tokens.removeSeededExcept(seedId) };
  }
  if (store.tokens.count() > 0) return {};
  const generated = generateKey();
  store.tokens.insert(generatedTokenRecord(generated, 'admin'));
  return { generated };
}

/** Throws when `seed` is too short to be a key, saying how to make one. */
export function assertStrongSeed(seed: string): void {
  if (seed.length >= MIN_SEED_LENGTH) return;
  throw new Error(
    `LAMBDA_API_KEY is too short to be a key (${seed.length} characters; it needs at least ${MIN_SEED_LENGTH} characters): ` +
      'a word or a PIN is guessed however slowly it is checked. Make a random one with `openssl rand -hex 32`, ' +
      'or leave LAMBDA_API_KEY unset and the first start prints a generated key',
  );
}

/** Stores the seed (see bootstrapAdminKey) as an admin key marked seeded; returns its row. */
function seedKey(store: Store, seed: string): string {
  const scryptRow = store.tokens.withScheme('scrypt').find((record) => matchesScryptNow(record, seed));
  const digest = sha256(seed);
  const plain = store.tokens.get(idOf(digest));
  // Whatever row the seed already has becomes the seeded admin key (a created token given back as the seed too).
  const keep = (row: TokenRecord, record: TokenRecord = row): string => {
    store.tokens.replace(row.id, { ...record, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt, scope: 'admin', function: null, seeded: true });
    return record.id;
  };
  if (isGeneratedForm(seed)) {
    if (matchesSha256(plain, digest)) return keep(plain);
    const record = generatedTokenRecord(seed, scryptRow?.name ?? 'LAMBDA_API_KEY');
    if (scryptRow) return keep(scryptRow, record);
    store.tokens.insert({ ...record, seeded: true });
    return record.id;
  }
  if (scryptRow) return keep(scryptRow);
  if (matchesSha256(plain, digest)) return keep(plain, chosenTokenRecord(seed, plain.name));
  const record = chosenTokenRecord(seed, 'LAMBDA_API_KEY');
  store.tokens.insert({ ...record, seeded: true });
  return record.id;
}

/** The key of an `Authorization: Bearer <key>` header, or undefined for any other scheme or shape. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
}
