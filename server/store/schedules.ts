// SQL for cron schedules: a function's schedules, and the claim that fires each cron time once.
import type Database from 'better-sqlite3';
import type { ScheduleQueries, ScheduleRecord } from './schedule-types.js';

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
