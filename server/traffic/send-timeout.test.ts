// The send timeout's rules, on fake writers and a fake clock: no progress for the timeout closes, any 'drain' resets.
import { EventEmitter } from 'node:events';
import test from 'ava';
import { SendWatch, resumeOnDrain } from './send-timeout.js';

class FakeWriter extends EventEmitter {
  writableLength = 0;
  destroyed = false;
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

function watch(timeoutMs = 10_000) {
  let now = 0;
  const sendWatch = new SendWatch(timeoutMs, () => now);
  const at = (ms: number) => {
    now = ms;
    sendWatch.check();
  };
  return { sendWatch, at };
}

test('a writer that waits for drain for the whole timeout is destroyed, and forgotten', (t) => {
  const { sendWatch, at } = watch();
  const writer = new FakeWriter();
  const answer = new EventEmitter();
  sendWatch.watch(writer, answer);
  writer.writableLength = 20_000;
  at(1000);
  at(10_999);
  t.false(writer.destroyed);
  at(11_000);
  t.true(writer.destroyed);
  t.is(sendWatch.size, 0);
  t.is(writer.listenerCount('drain'), 0);
});

test('every drain is progress: a slow reader that keeps draining is never destroyed', (t) => {
  const { sendWatch, at } = watch();
  const writer = new FakeWriter();
  const answer = new EventEmitter();
  sendWatch.watch(writer, answer);
  writer.writableLength = 20_000;
  for (let second = 1; second <= 60; second++) {
    at(second * 1000);
    // Drained every 9 s, then at once waiting again: never 10 s without progress.
    if (second % 9 === 0) writer.emit('drain');
  }
  t.false(writer.destroyed);
  t.is(sendWatch.size, 1);
});

test("bytes going out, fewer at each tick, are progress without a 'drain'", (t) => {
  const { sendWatch, at } = watch();
  const writer = new FakeWriter();
  const answer = new EventEmitter();
  sendWatch.watch(writer, answer);
  writer.writableLength = 60_000;
  for (let second = 1; second <= 30; second++) {
    at(second * 1000);
    if (second % 5 === 0) writer.writableLength -= 1000;
  }
  t.false(writer.destroyed);
});

test("an answer's last bytes that never go out are no progress: no 'drain' comes, and the writer is destroyed", (t) => {
  const { sendWatch, at } = watch();
  const writer = new FakeWriter();
  const answer = new EventEmitter();
  sendWatch.watch(writer, answer);
  // The response was ended with a few bytes still buffered: the buffer never filled, so no 'drain' is due.
  writer.writableLength = 300;
  for (let second = 1; second <= 11; second++) at(second * 1000);
  t.true(writer.destroyed);
});

test("the answer's close ends the watch, though its connection stays for the next request", (t) => {
  const { sendWatch, at } = watch();
  const writer = new FakeWriter();
  const answer = new EventEmitter();
  sendWatch.watch(writer, answer);
  answer.emit('close');
  t.is(sendWatch.size, 0);
  t.is(writer.listenerCount('drain') + writer.listenerCount('close') + answer.listenerCount('close'), 0);
  writer.writableLength = 300;
  at(60_000);
  t.false(writer.destroyed);
});

test('a writer that keeps up is left alone, and one that closes is forgotten', (t) => {
  const { sendWatch, at } = watch();
  const writer = new FakeWriter();
  const answer = new EventEmitter();
  sendWatch.watch(writer, answer);
  at(5000);
  at(50_000);
  t.false(writer.destroyed);
  writer.emit('close');
  t.is(sendWatch.size, 0);
  t.is(writer.listenerCount('close'), 0);
});

test('resumeOnDrain resumes on drain, and leaves no listener behind', async (t) => {
  const writer = new FakeWriter();
  let resumed = 0;
  resumeOnDrain(writer, 60_000, () => (resumed += 1));
  writer.emit('drain');
  writer.emit('drain');
  t.is(resumed, 1);
  t.false(writer.destroyed);
  t.is(writer.listenerCount('drain') + writer.listenerCount('close'), 0);
});

test('resumeOnDrain destroys a writer that does not drain in time', async (t) => {
  const writer = new FakeWriter();
  let resumed = false;
  resumeOnDrain(writer, 5, () => (resumed = true));
  await new Promise<void>((resolve) => writer.once('close', () => resolve()));
  t.true(writer.destroyed);
  t.false(resumed);
  t.is(writer.listenerCount('drain'), 0);
});
