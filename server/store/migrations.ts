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
  {
    // API tokens: keys a person chose are stored salted and scrypt-hashed, so each row says how it
    // was hashed; `label` becomes `name`, as the API calls it; last use is kept for `lambda tokens list`.
    // Existing rows are SHA-256 hashes and keep working as they are.
    version: 2,
    sql: `
      ALTER TABLE api_keys RENAME COLUMN label TO name;
      ALTER TABLE api_keys ADD COLUMN scheme TEXT NOT NULL DEFAULT 'sha256' CHECK (scheme IN ('sha256', 'scrypt'));
      ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;
      CREATE INDEX api_keys_scheme ON api_keys (scheme);
    `,
  },
  {
    // Releases and env: every change of what serves a function (deploy, rollback, env) is recorded with who
    // made it; env vars set with `lambda env set` live here, never in git, and go with their function.
    version: 3,
    sql: `
      CREATE TABLE releases (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('deploy', 'rollback', 'env')),
        from_version INTEGER,
        to_version INTEGER NOT NULL,
        who TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
      );
      CREATE INDEX releases_function ON releases (function, id);
      CREATE TABLE function_env (
        function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (function, name)
      );
    `,
  },
  {
    // Schedules and the async invocation queue. Manifest schedules are rows too, kept in step with the
    // live version (source 'manifest'); `last_fired` (ms) is the cron time last fired or reported missed, so a
    // restart neither fires a time twice nor runs a missed one late. An invocation is the durable queued call.
    version: 4,
    sql: `
      CREATE TABLE schedules (
        id TEXT PRIMARY KEY,
        function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
        source TEXT NOT NULL CHECK (source IN ('manifest', 'cli')),
        cron TEXT NOT NULL,
        payload TEXT,
        overlap TEXT NOT NULL CHECK (overlap IN ('skip', 'allow')),
        created_at TEXT NOT NULL,
        last_fired INTEGER NOT NULL
      );
      CREATE INDEX schedules_function ON schedules (function);
      CREATE TABLE invocations (
        id TEXT PRIMARY KEY,
        function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('event', 'http')),
        payload TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'replayed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        result TEXT,
        replay_of TEXT,
        created_at INTEGER NOT NULL,
        run_after INTEGER NOT NULL,
        finished_at INTEGER
      );
      CREATE INDEX invocations_due ON invocations (status, run_after);
      CREATE INDEX invocations_function ON invocations (function, created_at);
    `,
  },
  {
    // SSH public keys: `lambda keys add FILE.pub`; the key blob is kept to check logins, the
    // fingerprint (SHA256:…, as OpenSSH prints it) is unique so a key is added once.
    version: 5,
    sql: `
      CREATE TABLE ssh_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        public_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        last_used_at TEXT
      );
    `,
  },
  {
    // Bounded async queue: each call's kept bytes (payload, result, error), and per function and kind of call
    // (waiting, dead letters, finished) running totals kept by triggers, so checking a new call against the bound
    // costs the same however many rows there are. Finished calls are found oldest first for pruning by size and age.
    version: 6,
    sql: `
      ALTER TABLE invocations ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
      UPDATE invocations SET bytes = length(CAST(payload AS BLOB)) + COALESCE(length(CAST(result AS BLOB)), 0) + COALESCE(length(CAST(error AS BLOB)), 0);
      CREATE INDEX invocations_kept ON invocations (function, status, finished_at);
      CREATE INDEX invocations_finished ON invocations (status, finished_at);
      CREATE TABLE invocation_totals (
        function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('waiting', 'dead', 'finished')),
        calls INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (function, kind)
      ) WITHOUT ROWID;
      INSERT INTO invocation_totals (function, kind, calls, bytes)
        SELECT function, CASE invocations.status WHEN 'failed' THEN 'dead' WHEN 'succeeded' THEN 'finished' WHEN 'replayed' THEN 'finished' ELSE 'waiting' END AS kind, COUNT(*), SUM(bytes) FROM invocations GROUP BY function, kind;
      CREATE TRIGGER invocation_totals_insert AFTER INSERT ON invocations BEGIN
        INSERT INTO invocation_totals (function, kind, calls, bytes) VALUES (NEW.function, CASE NEW.status WHEN 'failed' THEN 'dead' WHEN 'succeeded' THEN 'finished' WHEN 'replayed' THEN 'finished' ELSE 'waiting' END, 1, NEW.bytes)
          ON CONFLICT (function, kind) DO UPDATE SET calls = calls + 1, bytes = bytes + excluded.bytes;
      END;
      CREATE TRIGGER invocation_totals_delete AFTER DELETE ON invocations BEGIN
        UPDATE invocation_totals SET calls = calls - 1, bytes = bytes - OLD.bytes WHERE function = OLD.function AND kind = CASE OLD.status WHEN 'failed' THEN 'dead' WHEN 'succeeded' THEN 'finished' WHEN 'replayed' THEN 'finished' ELSE 'waiting' END;
      END;
      CREATE TRIGGER invocation_totals_update AFTER UPDATE OF status, bytes ON invocations BEGIN
        UPDATE invocation_totals SET calls = calls - 1, bytes = bytes - OLD.bytes WHERE function = OLD.function AND kind = CASE OLD.status WHEN 'failed' THEN 'dead' WHEN 'succeeded' THEN 'finished' WHEN 'replayed' THEN 'finished' ELSE 'waiting' END;
        INSERT INTO invocation_totals (function, kind, calls, bytes) VALUES (NEW.function, CASE NEW.status WHEN 'failed' THEN 'dead' WHEN 'succeeded' THEN 'finished' WHEN 'replayed' THEN 'finished' ELSE 'waiting' END, 1, NEW.bytes)
          ON CONFLICT (function, kind) DO UPDATE SET calls = calls + 1, bytes = bytes + excluded.bytes;
      END;
    `,
  },
  {
    // Invoke-only tokens: `scope` says what a key opens (admin: everything; invoke: only `auth: key` functions, or
    // the one named in `function`). `seeded` marks the row LAMBDA_API_KEY made, so a start with another value
    // revokes it; rows an earlier start seeded carry that variable's name.
    version: 7,
    sql: `
      ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin' CHECK (scope IN ('admin', 'invoke'));
      ALTER TABLE api_keys ADD COLUMN function TEXT;
      ALTER TABLE api_keys ADD COLUMN seeded INTEGER NOT NULL DEFAULT 0;
      UPDATE api_keys SET seeded = 1 WHERE name = 'LAMBDA_API_KEY';
    `,
  },
  {
    // Per-minute invocation metrics of each function version and trigger, kept for a bounded number of days
    // (LAMBDA_METRICS_RETENTION); `buckets` is the duration histogram as JSON (server/metrics/buckets.ts).
    version: 8,
    sql: `
      CREATE TABLE metric_minutes (
        function TEXT NOT NULL,
        version INTEGER NOT NULL,
        minute INTEGER NOT NULL,
        trigger TEXT NOT NULL CHECK (trigger IN ('http', 'direct', 'schedule', 'async')),
        invocations INTEGER NOT NULL DEFAULT 0,
        handler_errors INTEGER NOT NULL DEFAULT 0,
        timeouts INTEGER NOT NULL DEFAULT 0,
        crashes INTEGER NOT NULL DEFAULT 0,
        throttles INTEGER NOT NULL DEFAULT 0,
        cold_starts INTEGER NOT NULL DEFAULT 0,
        cold_start_ms REAL NOT NULL DEFAULT 0,
        duration_ms REAL NOT NULL DEFAULT 0,
        max_memory_mb INTEGER NOT NULL DEFAULT 0,
        buckets TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (function, version, minute, trigger)
      );
      CREATE INDEX metric_minutes_by_minute ON metric_minutes (minute);
    `,
  },
  {
    // Older metrics rows are merged into coarser ones (server/metrics/tiers.ts): `width` is how many ms from
    // `minute` a row covers. Rows written before are per minute.
    version: 9,
    sql: `ALTER TABLE metric_minutes ADD COLUMN width INTEGER NOT NULL DEFAULT 60000;`,
  },
];
