// SQL for API keys; only hashes are stored.
import type Database from 'better-sqlite3';
import type { ApiKeyRecord, Store } from './types.js';

interface KeyRow {
  id: string;
  hash: string;
  label: string;
  created_at: string;
}

export function keyQueries(db: Database.Database): Store['keys'] {
  const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM api_keys');
  const get = db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE id = ?');
  const insert = db.prepare('INSERT INTO api_keys (id, hash, label, created_at) VALUES (?, ?, ?, ?)');
  return {
    count: () => (count.get() as { n: number }).n,
    get: (id) => {
      const row = get.get(id);
      return row && { id: row.id, hash: row.hash, label: row.label, createdAt: row.created_at };
    },
    insert: (key: ApiKeyRecord) => {
      insert.run(key.id, key.hash, key.label, key.createdAt);
    },
  };
}
