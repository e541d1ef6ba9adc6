// A request's abort signal on the hot path: an EventEmitter (undici takes one; an AbortController per request costs
// more) that also remembers it fired, for a send that starts only after it did.
import { EventEmitter } from 'node:events';

export class AbortEmitter extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}
