// Cron expressions through croner (a well-kept library rather than a hand-written parser): 5 fields, or 6 with
// seconds first, read in UTC as EventBridge does.
import { Cron } from 'croner';

const OPTIONS = { paused: true, timezone: 'UTC', mode: '5-or-6-parts' } as const;

/** What is wrong with `expression`, naming the field (e.g. "Invalid value for minute: 61"), or undefined when it is valid. */
export function cronProblem(expression: string): string | undefined {
  // EventBridge's own forms, as a Lambda user writes them: say what to write here instead.
  if (/^\s*(cron|rate)\s*\(/i.test(expression)) return `EventBridge's ${expression.trim().split('(')[0].toLowerCase()}() form is not read here: write the cron fields alone, e.g. cron(0 12 * * ? *) as "0 12 * * *" and rate(5 minutes) as "*/5 * * * *"`;
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) return `expected 5 fields (minute hour day month weekday) or 6 (seconds first), got ${fields.length}`;
  try {
    const cron = new Cron(expression, OPTIONS);
    if (cron.nextRun(new Date()) === null) return 'it never fires';
    return undefined;
  } catch (error) {
    const message = (error as Error).message.replace(/^CronPattern: /, '');
    // croner counts entries with the seconds first (a 5-field expression gets "0" put before it): name the field instead.
    return message.replace(/^configuration entry (\d+) \((.*)\) contains/, (_, index: string, value: string) => `${FIELD_NAMES[Number(index)] ?? 'a field'} "${value}" contains`);
  }
}

const FIELD_NAMES = ['second', 'minute', 'hour', 'day of month', 'month', 'day of week'];

/** The first time `expression` fires strictly after `after` (ms), or undefined when it never does again. */
export function nextCronTime(expression: string, after: number): number | undefined {
  const next = new Cron(expression, OPTIONS).nextRun(new Date(after));
  return next === null ? undefined : next.getTime();
}
