// Unit tests of the exit relay between the engine and the pool.
import test from 'ava';
import { createInstanceExits } from './exits.js';

test('reports reach the listener once it listens; earlier ones are dropped', (t) => {
  const exits = createInstanceExits();
  const heard: string[] = [];
  exits.ended('a', 'exited with status 1');
  exits.listen((id, reason) => heard.push(`${id}: ${reason}`));
  exits.ended('b', 'disappeared');
  t.deepEqual(heard, ['b: disappeared']);
});
