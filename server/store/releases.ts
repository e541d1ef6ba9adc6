// SQL for releases, function env and the version history that rollback and delete use.
import type Database from 'better-sqlite3';
import type { NewRelease, ReleaseRecord, Store } from './types.js';
import { toRecord, type VersionRow } from './versions.js';

interface ReleaseRow {
  id: number;
  function: string;
  kind: ReleaseRecord['kind'];
  from_version: number | null;
  to_version: number;
  who: string;
  detail: string;
  created_at: string;
}

const toRelease = (row: ReleaseRow): ReleaseRecord => ({
  id: row.id,
  fn: row.function,
  kind: row.kind,
  fromVersion: row.from_version,
  toVersion: row.to_version,
  who: row.who,
  detail: row.detail,
  createdAt: row.created_at,
});

export function lifecycleQueries(db: Database.Database): Pick<Store, 'releases' | 'env' | 'lifecycle'> {
  const insertRelease = db.prepare(
    'INSERT INTO releases (function, kind, from_version, to_version, who, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const releaseById = db.prepare<[number], ReleaseRow>('SELECT * FROM releases WHERE id = ?');
  const listReleases = db.prepare<[string, number], ReleaseRow>('SELECT * FROM releases WHERE function = ? ORDER BY id DESC LIMIT ?');
  const envOf = db.prepare<[string], { name: string; value: string }>('SELECT name, value FROM function_env WHERE function = ? ORDER BY name');
  const clearEnv = db.prepare('DELETE FROM function_env WHERE function = ?');
  const insertEnv = db.prepare('INSERT INTO function_env (function, name, value) VALUES (?, ?, ?)');
  const versions = db.prepare<[string], VersionRow>('SELECT * FROM versions WHERE function = ? ORDER BY number DESC');
  const versionExists = db.prepare<[string, number], { n: number }>('SELECT 1 AS n FROM versions WHERE function = ? AND number = ?');
  const setLive = db.prepare('UPDATE functions SET live_version = ? WHERE name = ?');
  const removeFunction = db.prepare('DELETE FROM functions WHERE name = ?');

  const record = (release: NewRelease): ReleaseRecord => {
    const info = insertRelease.run(release.fn, release.kind, release.fromVersion, release.toVersion, release.who, release.detail, new Date().toISOString());
    return toRelease(releaseById.get(Number(info.lastInsertRowid)) as ReleaseRow);
  };
  const replaceEnv = db.transaction((fn: string, env: Record<string, string>, release?: NewRelease) => {
    clearEnv.run(fn);
    for (const [name, value] of Object.entries(env)) insertEnv.run(fn, name, value);
    return release && record(release);
  });
  const switchLive = db.transaction((fn: string, number: number, release: NewRelease) => {
    if (!versionExists.get(fn, number)) throw new Error(`${fn} has no version ${number}`);
    setLive.run(number, fn);
    return record(release);
  });

  return {
    releases: {
      record: (release) => db.transaction(record)(release),
      list: (fn, limit = 100) => listReleases.all(fn, limit).map(toRelease),
    },
    env: {
      get: (fn) => Object.fromEntries(envOf.all(fn).map((row) => [row.name, row.value])),
      replace: (fn, env, release) => replaceEnv(fn, env, release),
    },
    lifecycle: {
      versions: (fn) => versions.all(fn).map(toRecord),
      setLive: (fn, number, release) => switchLive(fn, number, release),
      // versions, releases and env go with it (ON DELETE CASCADE).
      removeFunction: (fn) => removeFunction.run(fn).changes > 0,
    },
  };
}
