// The records of cron schedules, and the Store's queries over them.

export type ScheduleSource = 'manifest' | 'cli';
export type Overlap = 'skip' | 'allow';

export interface ScheduleRecord {
  /** 12 hex digits; a manifest schedule's id is a hash of its definition, so a redeploy keeps it. */
  id: string;
  fn: string;
  source: ScheduleSource;
  cron: string;
  /** JSON text, or null for the EventBridge-style event. */
  payload: string | null;
  overlap: Overlap;
  createdAt: string;
  /** The cron time (ms) last fired or reported missed. */
  lastFired: number;
}

export interface ScheduleQueries {
  list(fn: string): ScheduleRecord[];
  listAll(): ScheduleRecord[];
  get(fn: string, id: string): ScheduleRecord | undefined;
  insert(record: ScheduleRecord): void;
  /** Replaces `fn`'s manifest schedules with `records`, keeping rows (and their last firing) whose id stays. */
  replaceManifest(fn: string, records: ScheduleRecord[]): void;
  remove(fn: string, id: string): boolean;
  /** Records that cron time `time` fired (or was missed) unless it or a later one was already: true when this call did. */
  claim(id: string, time: number): boolean;
}
