// What a cell became (the function and commit it serves), kept on the manager for a later server process to adopt it
// as any instance: labels cannot say it, as they cannot change once a cell runs. Written whole, so a reader (a
// restart, `lambda nodes`) never sees half a record.
import fs from 'node:fs';
import { isInstanceId } from '../instance-folders.js';

export interface CellRecord {
  fn: string;
  sha: string;
}

/** Writes `record` to `file` through a rename: the file is either absent or whole. */
export async function writeCellRecord(file: string, record: CellRecord, mode = 0o600): Promise<void> {
  const partial = `${file}.new`;
  await fs.promises.writeFile(partial, JSON.stringify(record), { mode });
  await fs.promises.rename(partial, file);
}

/** The record of cell `id` in `file`; undefined when there is none (a waiting cell) or it is not one. */
export function readCellRecord(id: string, file: string): CellRecord | undefined {
  if (!isInstanceId(id)) return undefined;
  try {
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<CellRecord>;
    return typeof record.fn === 'string' && typeof record.sha === 'string' ? { fn: record.fn, sha: record.sha } : undefined;
  } catch {
    return undefined;
  }
}
