// SQL for schedules and the async invocation queue (issue 10).
import type Database from 'better-sqlite3';
import type { InvocationQueries, InvocationRecord, InvocationStatus, QueueStats, ScheduleQueries, ScheduleRecord } from './job-types.js';

interface ScheduleRow {
  id: string;
  function: string;
  source: ScheduleRecord['source'];
  cron: string;
  payload: string | null;
  overlap: ScheduleRecord['overlap'];
  created_at: string;
  last_fired: number;
}

const toSchedule = (row: ScheduleRow): ScheduleRecord => ({
  id: row.id,
  fn: row.function,
  source: row.source,
  cron: row.cron,
  payload: row.payload,
  overlap: row.overlap,
  createdAt: row.created_at,
  lastFired: row.last_fired,
});

export function scheduleQueries(db: Database.Database): ScheduleQueries {
  const list = db.prepare<[string], ScheduleRow>('SELECT * FROM schedules WHERE function = ? ORDER BY created_at, id');
  const listAll = db.prepare<[], ScheduleRow>('SELECT * FROM schedules ORDER BY function, created_at, id');
  const get = db.prepare<[string, string], ScheduleRow>('SELECT * FROM schedules WHERE function = ? AND id = ?');
  const insert = db.prepare(
    'INSERT INTO schedules (id, function, source, cron, payload, overlap, created_at, last_fired) VALUES (@id, @fn, @source, @cron, @payload, @overlap, @createdAt, @lastFired)',
  );
  const manifestIds = db.prepare<[string], { id: string }>("SELECT id FROM schedules WHERE function = ? AND source = 'manifest'");
  const removeOne = db.prepare('DELETE FROM schedules WHERE function = ? AND id = ?');
  const claim = db.prepare('UPDATE schedules SET last_fired = ? WHERE id = ? AND last_fired < ?');
  const replaceManifest = db.transaction((fn: string, records: ScheduleRecord[]) => {
    const keep = new Set(records.map((record) => record.id));
    for (const { id } of manifestIds.all(fn)) if (!keep.has(id)) removeOne.run(fn, id);
    const existing = new Set(manifestIds.all(fn).map((row) => row.id));
    for (const record of records) if (!existing.has(record.id)) insert.run(record);
  });
  return {
    list: (fn) => list.all(fn).map(toSchedule),
    listAll: () => listAll.all().map(toSchedule),
    get: (fn, id) => {
      const row = get.get(fn, id);
      return row && toSchedule(row);
    },
    insert: (record) => void insert.run(record),
    replaceManifest: (fn, records) => replaceManifest(fn, records),
    remove: (fn, id) => removeOne.run(fn, id).changes > 0,
    claim: (id, time) => claim.run(time, id, time).changes > 0,
  };
}

interface InvocationRow {
  id: string;
  function: string;
  kind: InvocationRecord['kind'];
  payload: string;
  status: InvocationStatus;
  attempts: number;
  error: string | null;
  result: string | null;
  replay_of: string | null;
  created_at: number;
  run_after: number;
  finished_at: number | null;
}

const toInvocation = (row: InvocationRow): InvocationRecord => ({
  id: row.id,
  fn: row.function,
  kind: row.kind,
  payload: row.payload,
  status: row.status,
  attempts: row.attempts,
  error: row.error,
  result: row.result,
  replayOf: row.replay_of,
  createdAt: row.created_at,
  runAfter: row.run_after,
  finishedAt: row.finished_at,
});

export function invocationQueries(db: Database.Database): InvocationQueries {
  const insert = db.prepare(
    `INSERT INTO invocations (id, function, kind, payload, status, attempts, error, result, replay_of, created_at, run_after, finished_at)
     VALUES (@id, @fn, @kind, @payload, @status, @attempts, @error, @result, @replayOf, @createdAt, @runAfter, @finishedAt)`,
  );
  const get = db.prepare<[string, string], InvocationRow>('SELECT * FROM invocations WHERE function = ? AND id = ?');
  const listAll = db.prepare<[string, number], InvocationRow>('SELECT * FROM invocations WHERE function = ? ORDER BY created_at DESC, id LIMIT ?');
  const listStatus = db.prepare<[string, string, number], InvocationRow>(
    'SELECT * FROM invocations WHERE function = ? AND status = ? ORDER BY created_at DESC, id LIMIT ?',
  );
  const due = db.prepare<[number], { function: string }>("SELECT DISTINCT function FROM invocations WHERE status = 'queued' AND run_after <= ?");
  const take = db.prepare<[number, string, number], InvocationRow>(
    `UPDATE invocations SET status = 'running', attempts = attempts + 1, run_after = ?
     WHERE id = (SELECT id FROM invocations WHERE function = ? AND status = 'queued' AND run_after <= ? ORDER BY run_after, created_at LIMIT 1)
     RETURNING *`,
  );
  const succeed = db.prepare("UPDATE invocations SET status = 'succeeded', result = ?, error = NULL, finished_at = ? WHERE id = ?");
  const retry = db.prepare("UPDATE invocations SET status = 'queued', error = ?, run_after = ? WHERE id = ?");
  const dead = db.prepare("UPDATE invocations SET status = 'failed', error = ?, finished_at = ? WHERE id = ?");
  const putBack = db.prepare("UPDATE invocations SET status = 'queued', attempts = attempts - 1, run_after = ? WHERE id = ?");
  const requeue = db.prepare("UPDATE invocations SET status = 'queued', attempts = MAX(attempts - 1, 0) WHERE status = 'running'");
  const markReplayed = db.prepare("UPDATE invocations SET status = 'replayed' WHERE function = ? AND id = ? AND status = 'failed'");
  const stats = db.prepare<[], { function: string; depth: number; oldest: number | null }>(
    `SELECT function, COUNT(*) AS depth, MIN(CASE WHEN status = 'queued' THEN created_at END) AS oldest
     FROM invocations WHERE status IN ('queued', 'running') GROUP BY function`,
  );
  const waiting = db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM invocations WHERE function = ? AND status IN ('queued', 'running')");
  const replay = db.transaction((fn: string, id: string, copy: InvocationRecord) => {
    if (markReplayed.run(fn, id).changes === 0) return false;
    insert.run(copy);
    return true;
  });
  return {
    insert: (record) => void insert.run(record),
    get: (fn, id) => {
      const row = get.get(fn, id);
      return row && toInvocation(row);
    },
    list: (fn, status, limit) => (status ? listStatus.all(fn, status, limit) : listAll.all(fn, limit)).map(toInvocation),
    dueFunctions: (now) => due.all(now).map((row) => row.function),
    take: (fn, now) => {
      const row = take.get(now, fn, now);
      return row && toInvocation(row);
    },
    succeed: (id, result, now) => void succeed.run(result, now, id),
    fail: (id, error, runAfter, now) => void (runAfter === null ? dead.run(error, now, id) : retry.run(error, runAfter, id)),
    putBack: (id, runAfter) => void putBack.run(runAfter, id),
    requeueRunning: () => requeue.run().changes,
    replay: (fn, id, copy) => replay(fn, id, copy),
    stats: () => new Map<string, QueueStats>(stats.all().map((row) => [row.function, { depth: row.depth, oldestWaiting: row.oldest }])),
    waiting: (fn) => (waiting.get(fn) as { n: number }).n,
  };
}
