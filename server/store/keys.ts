// SQL for API keys; only hashes are stored.
import type Database from 'better-sqlite3';
import type { ApiKeyRecord, ApiKeyScheme, Store } from './types.js';

interface KeyRow {
  id: string;
  scheme: ApiKeyScheme;
  hash: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

const toRecord = (row: KeyRow): ApiKeyRecord => ({
  id: row.id,
  scheme: row.scheme,
  hash: row.hash,
  name: row.name,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

export function keyQueries(db: Database.Database): Store['keys'] {
  const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM api_keys');
  const get = db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE id = ?');
  const list = db.prepare<[], KeyRow>('SELECT * FROM api_keys ORDER BY created_at, rowid');
  const withScheme = db.prepare<[ApiKeyScheme], KeyRow>('SELECT * FROM api_keys WHERE scheme = ? ORDER BY created_at, rowid');
  const insert = db.prepare<[string, ApiKeyScheme, string, string, string, string | null]>(
    'INSERT INTO api_keys (id, scheme, hash, name, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const remove = db.prepare<[string]>('DELETE FROM api_keys WHERE id = ?');
  const touch = db.prepare<[string, string]>('UPDATE api_keys SET last_used_at = ? WHERE id = ?');

  const add = (key: ApiKeyRecord) => insert.run(key.id, key.scheme, key.hash, key.name, key.createdAt, key.lastUsedAt);
  const replace = db.transaction((id: string, key: ApiKeyRecord) => {
    remove.run(id);
    add(key);
  });
  const removeUnlessLast = db.transaction((id: string): 'removed' | 'missing' | 'last' => {
    if (!get.get(id)) return 'missing';
    if ((count.get() as { n: number }).n <= 1) return 'last';
    remove.run(id);
    return 'removed';
  });

  return {
    count: () => (count.get() as { n: number }).n,
    get: (id) => {
      const row = get.get(id);
      return row && toRecord(row);
    },
    list: () => list.all().map(toRecord),
    withScheme: (scheme) => withScheme.all(scheme).map(toRecord),
    insert: (key) => void add(key),
    replace: (id, key) => replace(id, key),
    removeUnlessLast: (id) => removeUnlessLast(id),
    touch: (id, at) => void touch.run(at, id),
  };
}
