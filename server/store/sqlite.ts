// Opens the SQLite database, applies pending migrations and assembles the Store from its parts.
import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations.js';
import { functionQueries } from './functions.js';
import { versionQueries } from './versions.js';
import { tokenQueries } from './tokens.js';
import { lifecycleQueries } from './releases.js';
import { sshKeyQueries } from './ssh-keys.js';
import { invocationQueries } from './invocations.js';
import { scheduleQueries } from './schedules.js';
import { metricQueries } from './metrics.js';
import type { Store } from './types.js';

/** Opens (creating if needed) the database at `file` (":memory:" for tests) and migrates it. */
export function openStore(file: string, migrations: readonly Migration[] = MIGRATIONS): Store {
  const db = new Database(file);
  // Pages freed by pruned async calls are reused by new rows; incremental auto-vacuum also lets the file give them
  // back (the queue workers ask, when many are free). A new file takes it before its first table; an older one
  // once, with a VACUUM, which also drops whatever it had grown to.
  if ((db.pragma('auto_vacuum', { simple: true }) as number) !== INCREMENTAL) {
    db.pragma('auto_vacuum = INCREMENTAL');
    if ((db.pragma('page_count', { simple: true }) as number) > 0) db.exec('VACUUM');
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  try {
    migrate(db, migrations);
  } catch (error) {
    db.close();
    throw error;
  }
  return {
    functions: functionQueries(db),
    versions: versionQueries(db),
    tokens: tokenQueries(db),
    ...lifecycleQueries(db),
    sshKeys: sshKeyQueries(db),
    schedules: scheduleQueries(db),
    invocations: invocationQueries(db),
    metrics: metricQueries(db),
    close: () => db.close(),
  };
}

const INCREMENTAL = 2;
function migrate(db: Database.Database, migrations: readonly Migration[]): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
}
