// SQL for the versions table and the live pointer on functions.
import type Database from 'better-sqlite3';
import type { Store, VersionRecord } from './types.js';

export interface VersionRow {
  function: string;
  number: number;
  sha: string;
  image: string;
  manifest: string;
  created_at: string;
}

/** A versions row as the record the Store returns (lifecycle.ts reads the same table). */
export const toRecord = (row: VersionRow): VersionRecord => ({
  fn: row.function,
  number: row.number,
  sha: row.sha,
  image: row.image,
  manifest: row.manifest,
  createdAt: row.created_at,
});

export function versionQueries(db: Database.Database): Store['versions'] {
  const byNumber = db.prepare<[string, number], VersionRow>('SELECT * FROM versions WHERE function = ? AND number = ?');
  const bySha = db.prepare<[string, string], VersionRow>('SELECT * FROM versions WHERE function = ? AND sha = ?');
  const live = db.prepare<[string], VersionRow>(
    'SELECT v.* FROM versions v JOIN functions f ON f.name = v.function AND f.live_version = v.number WHERE f.name = ?',
  );
  const listLive = db.prepare<[], VersionRow>(
    'SELECT v.* FROM versions v JOIN functions f ON f.name = v.function AND f.live_version = v.number ORDER BY f.name',
  );
  const nextNumber = db.prepare<[string], { next: number }>(
    'SELECT COALESCE(MAX(number), 0) + 1 AS next FROM versions WHERE function = ?',
  );
  const insert = db.prepare(
    'INSERT INTO versions (function, number, sha, image, manifest, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const updateBuild = db.prepare('UPDATE versions SET image = ?, manifest = ? WHERE function = ? AND number = ?');
  const setLive = db.prepare('UPDATE functions SET live_version = ? WHERE name = ?');
  const ensureFunction = db.prepare('INSERT OR IGNORE INTO functions (name, created_at) VALUES (?, ?)');

  const publish = db.transaction((input: { fn: string; sha: string; image: string; manifest: string }) => {
    const now = new Date().toISOString();
    ensureFunction.run(input.fn, now);
    const existing = bySha.get(input.fn, input.sha);
    let number: number;
    if (existing) {
      number = existing.number;
      updateBuild.run(input.image, input.manifest, input.fn, number);
    } else {
      number = (nextNumber.get(input.fn) as { next: number }).next;
      insert.run(input.fn, number, input.sha, input.image, input.manifest, now);
    }
    setLive.run(number, input.fn);
    return toRecord(byNumber.get(input.fn, number) as VersionRow);
  });

  const one = (row: VersionRow | undefined) => row && toRecord(row);
  return {
    byNumber: (fn, number) => one(byNumber.get(fn, number)),
    bySha: (fn, sha) => one(bySha.get(fn, sha)),
    live: (fn) => one(live.get(fn)),
    listLive: () => listLive.all().map(toRecord),
    nextNumber: (fn) => (nextNumber.get(fn) as { next: number }).next,
    publish: (input) => publish(input),
  };
}
