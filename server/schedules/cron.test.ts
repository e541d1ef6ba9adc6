// Cron expressions: what is wrong is named by field, and EventBridge's own forms get what to write instead.
import test from 'ava';
import { cronProblem, nextCronTime } from './cron.js';

test('five fields, or six with seconds first, are read in UTC', (t) => {
  t.is(cronProblem('*/5 * * * *'), undefined);
  t.is(cronProblem('30 0 12 * * *'), undefined);
  t.is(nextCronTime('0 12 * * *', Date.UTC(2026, 0, 1, 11, 0)), Date.UTC(2026, 0, 1, 12, 0));
});

test('a wrong field is named', (t) => {
  t.regex(cronProblem('61 * * * *') ?? '', /minute/);
  t.regex(cronProblem('* * *') ?? '', /expected 5 fields .* got 3/);
});

test("EventBridge's cron() and rate() forms say what to write here", (t) => {
  t.regex(cronProblem('cron(0 12 * * ? *)') ?? '', /EventBridge's cron\(\) form .* "0 12 \* \* \*"/);
  t.regex(cronProblem('rate(5 minutes)') ?? '', /EventBridge's rate\(\) form .* "\*\/5 \* \* \* \*"/);
});
