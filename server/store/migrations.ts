// Numbered schema migrations; a migration once released is never edited, only followed by a new one.

export interface Migration {
  version: number;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE functions (
        name TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        live_version INTEGER
      );
      CREATE TABLE versions (
        function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        sha TEXT NOT NULL,
        image TEXT NOT NULL,
        manifest TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (function, number),
        UNIQUE (function, sha)
      );
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL,
        label TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
    `,
  },
];
