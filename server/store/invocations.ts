// SQL for the async invocation queue, and the bounds on what it keeps.
import type Database from 'better-sqlite3';
import type { InvocationQueries, InvocationRecord, InvocationStatus, KeepBound, Pruned, QueueStats } from './invocation-types.js';

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
  const insertRow = db.prepare(
    `INSERT INTO invocations (id, function, kind, payload, status, attempts, error, result, replay_of, created_at, run_after, finished_at, bytes)
     VALUES (@id, @fn, @kind, @payload, @status, @attempts, @error, @result, @replayOf, @createdAt, @runAfter, @finishedAt, @bytes)`,
  );
  const insert = { run: (record: InvocationRecord) => insertRow.run({ ...record, bytes: recordBytes(record) }) };
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
  // `bytes` follows what the row holds (SET assigns from the row's old values, so it is recomputed in a second step).
  const measure = db.prepare<[string]>('UPDATE invocations SET bytes = length(CAST(payload AS BLOB)) + COALESCE(length(CAST(result AS BLOB)), 0) + COALESCE(length(CAST(error AS BLOB)), 0) WHERE id = ?');
  const succeedRow = db.prepare("UPDATE invocations SET status = 'succeeded', result = ?, error = NULL, finished_at = ? WHERE id = ?");
  const retryRow = db.prepare("UPDATE invocations SET status = 'queued', error = ?, run_after = ? WHERE id = ?");
  const deadRow = db.prepare("UPDATE invocations SET status = 'failed', error = ?, finished_at = ? WHERE id = ?");
  const succeed = db.transaction((result: string, now: number, id: string) => {
    succeedRow.run(result, now, id);
    measure.run(id);
  });
  const retry = db.transaction((error: string, runAfter: number, id: string) => {
    retryRow.run(error, runAfter, id);
    measure.run(id);
  });
  const dead = db.transaction((error: string, now: number, id: string) => {
    deadRow.run(error, now, id);
    measure.run(id);
  });
  const putBack = db.prepare("UPDATE invocations SET status = 'queued', attempts = attempts - 1, run_after = ? WHERE id = ?");
  const requeue = db.prepare("UPDATE invocations SET status = 'queued', attempts = MAX(attempts - 1, 0) WHERE status = 'running'");
  const markReplayed = db.prepare("UPDATE invocations SET status = 'replayed' WHERE function = ? AND id = ? AND status = 'failed'");
  const stats = db.prepare<[], { function: string; depth: number; oldest: number | null }>(
    `SELECT function, COUNT(*) AS depth, MIN(CASE WHEN status = 'queued' THEN created_at END) AS oldest
     FROM invocations WHERE status IN ('queued', 'running') GROUP BY function`,
  );
  // Kept by the totals' triggers: one row per function, read without walking the calls.
  const deadCounts = db.prepare<[], { function: string; calls: number }>("SELECT function, calls FROM invocation_totals WHERE kind = 'dead' AND calls > 0");
  const waiting = db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM invocations WHERE function = ? AND status IN ('queued', 'running')");
  // What a function keeps, by kind: waiting (queued or running, with room for the result each will get), dead letters,
  // and finished calls (succeeded or replayed), which are the first to go. Totals kept by triggers (migration 6).
  const totals = db.prepare<[string], { kind: 'waiting' | 'dead' | 'finished'; calls: number; bytes: number }>('SELECT kind, calls, bytes FROM invocation_totals WHERE function = ?');
  const sums = (reserveBytes: number, fn: string): { waiting: number; dead: number; finished: number } => {
    const kept = { waiting: 0, dead: 0, finished: 0 };
    for (const row of totals.all(fn)) kept[row.kind] = row.bytes + (row.kind === 'waiting' ? row.calls * reserveBytes : 0);
    return kept;
  };
  // One status at a time, so each is a walk down the index in finished order rather than a sort of all its rows.
  const oldest = db.prepare<[string, string, number], { id: string; bytes: number; finished_at: number | null }>(
    'SELECT id, bytes, finished_at FROM invocations WHERE function = ? AND status = ? ORDER BY finished_at LIMIT ?',
  );
  const removeOne = db.prepare<[string]>('DELETE FROM invocations WHERE id = ?');
  /** Deletes `fn`'s oldest rows of `statuses` until `bytes` are freed (or none is left): the ids deleted. */
  const free = (fn: string, statuses: [string, string], bytes: number): string[] => {
    const gone: string[] = [];
    let freed = 0;
    while (freed < bytes) {
      const rows = [...new Set(statuses)].flatMap((status) => oldest.all(fn, status, 64)).sort((x, y) => (x.finished_at ?? 0) - (y.finished_at ?? 0));
      if (rows.length === 0) break;
      for (const row of rows) {
        if (freed >= bytes) break;
        removeOne.run(row.id);
        gone.push(row.id);
        freed += row.bytes;
      }
    }
    return gone;
  };
  /** Room for `need` more bytes of waiting calls: false when the waiting calls and dead letters leave none, else finished calls are pruned to make it. */
  const makeRoom = (fn: string, need: number, bound: KeepBound): boolean => {
    const kept = sums(bound.reserveBytes, fn);
    const wanted = need + bound.reserveBytes;
    if (kept.waiting + kept.dead + wanted > bound.maxBytes) return false;
    const over = kept.waiting + kept.dead + kept.finished + wanted - bound.maxBytes;
    if (over > 0) free(fn, ['succeeded', 'replayed'], over);
    return true;
  };
  const admit = db.transaction((record: InvocationRecord, bound: KeepBound) => {
    if (!makeRoom(record.fn, recordBytes(record), bound)) return false;
    insert.run(record);
    return true;
  });
  const trim = db.transaction((fn: string, bound: KeepBound): Pruned => {
    const kept = sums(bound.reserveBytes, fn);
    const deadOver = kept.dead - bound.deadLetterBytes;
    const deadGone = deadOver > 0 ? free(fn, ['failed', 'failed'], deadOver) : [];
    const after = sums(bound.reserveBytes, fn);
    const over = after.waiting + after.dead + after.finished - bound.maxBytes;
    const finishedGone = over > 0 ? free(fn, ['succeeded', 'replayed'], over).length : 0;
    return { deadLetters: deadGone, finished: finishedGone };
  });
  const expireFinished = db.prepare<[number]>("DELETE FROM invocations WHERE status IN ('succeeded', 'replayed') AND finished_at < ?");
  const expiredDead = db.prepare<[number], { id: string; function: string }>("SELECT id, function FROM invocations WHERE status = 'failed' AND finished_at < ? LIMIT 1000");
  const expire = db.transaction((finishedBefore: number, deadBefore: number) => {
    const finished = expireFinished.run(finishedBefore).changes;
    const deadLetters = expiredDead.all(deadBefore);
    for (const row of deadLetters) removeOne.run(row.id);
    return { finished, deadLetters: deadLetters.map((row) => ({ fn: row.function, id: row.id })) };
  });
  const replay = db.transaction((fn: string, id: string, copy: InvocationRecord, bound?: KeepBound): boolean | 'full' => {
    if (markReplayed.run(fn, id).changes === 0) return false;
    if (bound && !makeRoom(fn, recordBytes(copy), bound)) throw new QueueFull();
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
    succeed: (id, result, now) => succeed(result, now, id),
    fail: (id, error, runAfter, now) => (runAfter === null ? dead(error, now, id) : retry(error, runAfter, id)),
    putBack: (id, runAfter) => void putBack.run(runAfter, id),
    requeueRunning: () => requeue.run().changes,
    replay: (fn, id, copy, bound) => {
      try {
        return replay(fn, id, copy, bound);
      } catch (error) {
        if (error instanceof QueueFull) return 'full';
        throw error;
      }
    },
    admit: (record, bound) => admit(record, bound),
    trim: (fn, bound) => trim(fn, bound),
    expire: (finishedBefore, deadBefore) => expire(finishedBefore, deadBefore),
    compact: () => {
      const free = db.pragma('freelist_count', { simple: true }) as number;
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      const keep = Math.floor(FREE_KEPT_BYTES / pageSize);
      // Only a file made with auto_vacuum = INCREMENTAL shrinks; in any other this is a no-op.
      if (free > keep) db.pragma(`incremental_vacuum(${free - keep})`);
    },
    keptBytes: (fn) => {
      const kept = sums(0, fn);
      return kept.waiting + kept.dead + kept.finished;
    },
    stats: () => new Map<string, QueueStats>(stats.all().map((row) => [row.function, { depth: row.depth, oldestWaiting: row.oldest }])),
    deadLetters: () => new Map(deadCounts.all().map((row) => [row.function, row.calls])),
    waiting: (fn) => (waiting.get(fn) as { n: number }).n,
  };
}

/** Free pages up to this many bytes stay in the file for new rows; `compact` gives back the rest. */
const FREE_KEPT_BYTES = 8 * 1024 * 1024;

/** Thrown inside a transaction to roll it back: the replayed copy does not fit. */
class QueueFull extends Error {}

/** The bytes a row holds: payload, result and error, as stored (UTF-8). */
function recordBytes(record: Pick<InvocationRecord, 'payload' | 'result' | 'error'>): number {
  return Buffer.byteLength(record.payload) + Buffer.byteLength(record.result ?? '') + Buffer.byteLength(record.error ?? '');
}
