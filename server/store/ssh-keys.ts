// SQL for SSH public keys.
import type Database from 'better-sqlite3';
import type { SshKeyRecord, Store } from './types.js';

interface SshKeyRow {
  id: string;
  name: string;
  algorithm: string;
  public_key: string;
  fingerprint: string;
  created_at: string;
  last_used_at: string | null;
}

const toRecord = (row: SshKeyRow): SshKeyRecord => ({
  id: row.id,
  name: row.name,
  algorithm: row.algorithm,
  publicKey: row.public_key,
  fingerprint: row.fingerprint,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

export function sshKeyQueries(db: Database.Database): Store['sshKeys'] {
  const list = db.prepare<[], SshKeyRow>('SELECT * FROM ssh_keys ORDER BY created_at, rowid');
  const byFingerprint = db.prepare<[string], SshKeyRow>('SELECT * FROM ssh_keys WHERE fingerprint = ?');
  const insert = db.prepare<[string, string, string, string, string, string, string | null]>(
    'INSERT OR IGNORE INTO ssh_keys (id, name, algorithm, public_key, fingerprint, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const remove = db.prepare<[string, string]>('DELETE FROM ssh_keys WHERE id = ? OR fingerprint = ?');
  const touch = db.prepare<[string, string]>('UPDATE ssh_keys SET last_used_at = ? WHERE id = ?');
  return {
    list: () => list.all().map(toRecord),
    byFingerprint: (fingerprint) => {
      const row = byFingerprint.get(fingerprint);
      return row && toRecord(row);
    },
    insert: (key) => insert.run(key.id, key.name, key.algorithm, key.publicKey, key.fingerprint, key.createdAt, key.lastUsedAt).changes === 1,
    remove: (idOrFingerprint) => remove.run(idOrFingerprint, idOrFingerprint).changes > 0,
    touch: (id, at) => void touch.run(at, id),
  };
}
