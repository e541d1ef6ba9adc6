// SQL for the functions table.
import type Database from 'better-sqlite3';
import type { FunctionRecord, Store } from './types.js';

interface FunctionRow {
  name: string;
  created_at: string;
  live_version: number | null;
}

const toRecord = (row: FunctionRow): FunctionRecord => ({
  name: row.name,
  createdAt: row.created_at,
  liveVersion: row.live_version,
});

export function functionQueries(db: Database.Database): Store['functions'] {
  const get = db.prepare<[string], FunctionRow>('SELECT * FROM functions WHERE name = ?');
  const list = db.prepare<[], FunctionRow>('SELECT * FROM functions ORDER BY name');
  const insert = db.prepare('INSERT OR IGNORE INTO functions (name, created_at) VALUES (?, ?)');
  return {
    get: (name) => {
      const row = get.get(name);
      return row && toRecord(row);
    },
    list: () => list.all().map(toRecord),
    ensure: (name) => {
      insert.run(name, new Date().toISOString());
      return toRecord(get.get(name) as FunctionRow);
    },
  };
}
