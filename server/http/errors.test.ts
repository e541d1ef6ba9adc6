// A connection closed after an error answer is dropped if the answer cannot even be sent; one that closes is left be.
import { EventEmitter } from 'node:events';
import test from 'ava';
import { dropAfter } from './errors.js';

class FakeSocket extends EventEmitter {
  destroyed = false;
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

test('a connection still open after the grace is dropped', async (t) => {
  const socket = new FakeSocket();
  dropAfter(socket, 5);
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  t.true(socket.destroyed);
});

test('a connection that closed in time is not touched again', async (t) => {
  const socket = new FakeSocket();
  let destroys = 0;
  socket.destroy = () => (destroys += 1);
  dropAfter(socket, 20);
  socket.emit('close');
  await new Promise((resolve) => setTimeout(resolve, 60));
  t.is(destroys, 0);
});
