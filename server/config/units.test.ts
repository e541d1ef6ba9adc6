// How durations and sizes are read and shown.
import test from 'ava';
import { parseDuration, parseSize, showDuration, showSize } from './units.js';

test('durations are read with their unit, fractions too; anything else is not a duration', (t) => {
  t.is(parseDuration('500ms'), 500);
  t.is(parseDuration(' 1.5s '), 1500);
  t.is(parseDuration('5m'), 300_000);
  t.is(parseDuration('336h'), 336 * 3_600_000);
  t.is(parseDuration('14d'), 14 * 86_400_000);
  t.is(parseDuration('14d', ['s', 'm', 'h']), undefined);
  for (const text of ['5', '5 m', '5w', '-1s', 's', 'd', '']) t.is(parseDuration(text), undefined, text);
});

test('sizes are read with a binary or decimal unit, and only with the units asked for', (t) => {
  t.is(parseSize('256Ki'), 256 * 1024);
  t.is(parseSize('64Mi'), 64 * 1024 ** 2);
  t.is(parseSize('4Gi'), 4 * 1024 ** 3);
  t.is(parseSize('512M'), 512_000_000);
  t.is(parseSize('256Ki', ['Mi', 'Gi']), undefined);
  for (const text of ['64', '64mi', '1.5Gi', 'Mi']) t.is(parseSize(text), undefined, text);
});

test('values are shown in the largest unit that writes them whole', (t) => {
  t.is(showSize(256 * 1024), '256Ki');
  t.is(showSize(10 * 1024 ** 2), '10Mi');
  t.is(showSize(1000), '1000');
  t.is(showDuration(3_600_000), '1h');
  t.is(showDuration(90_000), '90s');
  t.is(showDuration(1500), '1500ms');
});
