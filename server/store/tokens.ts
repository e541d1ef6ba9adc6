// SQL for API keys; only hashes are stored.
import type Database from 'better-sqlite3';
import type { TokenRecord, TokenScheme, TokenScope, Store } from './types.js';

interface KeyRow {
  id: string;
  scheme: TokenScheme;
  hash: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  scope: TokenScope;
  function: string | null;
  seeded: number;
}

const toRecord = (row: KeyRow): TokenRecord => ({
  id: row.id,
  scheme: row.scheme,
  hash: row.hash,
  name: row.name,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  scope: row.scope,
  function: row.function,
  seeded: row.seeded === 1,
});

export function tokenQueries(db: Database.Database): Store['tokens'] {
  const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM api_keys');
  const admins = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM api_keys WHERE scope = 'admin'");
  const get = db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE id = ?');
  const list = db.prepare<[], KeyRow>('SELECT * FROM api_keys ORDER BY created_at, rowid');
  const withScheme = db.prepare<[TokenScheme], KeyRow>('SELECT * FROM api_keys WHERE scheme = ? ORDER BY created_at, rowid');
  const insert = db.prepare<[string, TokenScheme, string, string, string, string | null, TokenScope, string | null, number]>(
    'INSERT INTO api_keys (id, scheme, hash, name, created_at, last_used_at, scope, function, seeded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const removeSeeded = db.prepare<[string]>('DELETE FROM api_keys WHERE seeded = 1 AND id != ?');
  const remove = db.prepare<[string]>('DELETE FROM api_keys WHERE id = ?');
  const touch = db.prepare<[string, string]>('UPDATE api_keys SET last_used_at = ? WHERE id = ?');

  const add = (key: TokenRecord) =>
    insert.run(key.id, key.scheme, key.hash, key.name, key.createdAt, key.lastUsedAt, key.scope ?? 'admin', key.function ?? null, key.seeded ? 1 : 0);
  const replace = db.transaction((id: string, key: TokenRecord) => {
    remove.run(id);
    add(key);
  });
  const removeUnlessLast = db.transaction((id: string): 'removed' | 'missing' | 'last' => {
    const row = get.get(id);
    if (!row) return 'missing';
    // Invoke tokens open nothing to manage the server with: only the last admin key is kept.
    if (row.scope === 'admin' && (admins.get() as { n: number }).n <= 1) return 'last';
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
    removeSeededExcept: (id) => removeSeeded.run(id).changes,
    touch: (id, at) => void touch.run(at, id),
  };
}
