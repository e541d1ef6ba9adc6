// The demand rules on a fake clock: the largest recent burst and live reservations set what a runtime keeps, never
// below the floor, forgotten once old; a flood of cold starts is remembered within a bound.
import test from 'ava';
import { createDemand, MAX_REMEMBERED } from './demand.js';

function clock(start = 1_000_000) {
  let time = start;
  return { now: () => time, advance: (ms: number) => (time += ms) };
}

test('the floor holds at rest', (t) => {
  const demand = createDemand({ floor: 2, now: clock().now });
  t.is(demand.wanted('node20'), 2);
});

test('cold starts close together are one burst, which sets the size; spread-out ones are not', (t) => {
  const c = clock();
  const demand = createDemand({ floor: 2, windowMs: 300_000, burstMs: 10_000, now: c.now });
  for (let i = 0; i < 6; i++) {
    demand.coldStart('node20');
    c.advance(30_000);
  }
  t.is(demand.wanted('node20'), 2, 'one start every 30 s is no burst');
  for (let i = 0; i < 30; i++) demand.coldStart('node20');
  t.is(demand.wanted('node20'), 30);
  t.is(demand.wanted('python3'), 2, 'per runtime');
});

test('a burst is forgotten after the window: the size goes back to the floor', (t) => {
  const c = clock();
  const demand = createDemand({ floor: 2, windowMs: 300_000, burstMs: 10_000, now: c.now });
  for (let i = 0; i < 12; i++) demand.coldStart('node20');
  c.advance(299_000);
  t.is(demand.wanted('node20'), 12, 'still within the window');
  c.advance(2_000);
  t.is(demand.wanted('node20'), 2);
});

test('reservations count until their time, then go', (t) => {
  const c = clock();
  const demand = createDemand({ floor: 2, now: c.now });
  for (let i = 0; i < 10; i++) demand.reserve('node20', `fn${i}`, c.now() + 15_000);
  t.is(demand.wanted('node20'), 10);
  c.advance(15_001);
  t.is(demand.wanted('node20'), 2);
});

test('a function holds one reservation, the latest: a schedule firing every second wants one cell', (t) => {
  const c = clock();
  const demand = createDemand({ floor: 2, now: c.now });
  for (let i = 0; i < 20; i++) {
    demand.reserve('node20', 'ticker', c.now() + 11_000);
    demand.reserve('node20', 'other', c.now() + 11_000);
    c.advance(1_000);
  }
  t.is(demand.wanted('node20'), 2, 'two functions, two cells, however many firings');
  demand.reserve('node20', 'third', c.now() + 11_000);
  t.is(demand.wanted('node20'), 3);
  c.advance(11_001);
  t.is(demand.wanted('node20'), 2, 'back to the floor once every reservation is past');
});

test('reservations are remembered within a bound', (t) => {
  const c = clock();
  const demand = createDemand({ floor: 0, now: c.now });
  for (let i = 0; i < MAX_REMEMBERED + 50; i++) demand.reserve('node20', `fn${i}`, c.now() + 15_000);
  t.is(demand.wanted('node20'), MAX_REMEMBERED);
});

test('a flood of cold starts is remembered within a bound', (t) => {
  const demand = createDemand({ floor: 2, now: clock().now });
  for (let i = 0; i < MAX_REMEMBERED * 3; i++) demand.coldStart('node20');
  t.is(demand.wanted('node20'), MAX_REMEMBERED);
});
