// The send timeout: a client that takes none of its answer for too long is closed. An answer holds its instance's slot
// until its last byte is written, so a client that stops reading would otherwise keep a function busy for as long as
// it likes, at no cost. A slow client that still reads is left alone: each byte it takes starts the count again.
// Closing the client ends its request only (dispatch.ts): the instance stays, the connection it answered on does not.

/** A client's writable side: a net.Socket. */
export interface ClientWriter {
  /** Bytes written but not yet handed to the kernel: what the client has not made room for. */
  readonly writableLength: number;
  readonly destroyed: boolean;
  destroy(): void;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/** What one answer lasts for: the response, whose 'close' ends the watch (its socket may serve the next request). */
export interface Answer {
  on(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

/**
 * Calls `resume` at the writer's next 'drain' (what it buffered reached the client); destroys the writer if that does
 * not happen within `timeoutMs`. For writers whose writes are ours: called each time a write returns false.
 */
export function resumeOnDrain(writer: ClientWriter, timeoutMs: number, resume: () => void): void {
  const done = () => {
    clearTimeout(timer);
    writer.off('drain', drained);
    writer.off('close', done);
  };
  const drained = () => {
    done();
    resume();
  };
  const timer = setTimeout(() => {
    done();
    writer.destroy();
  }, timeoutMs);
  writer.on('drain', drained);
  writer.on('close', done);
}

interface Watched {
  writer: ClientWriter;
  /** Since when the writer has held bytes with no progress; undefined while it has nothing left to send. */
  since: number | undefined;
  /** Its buffered bytes at the last tick: fewer now is progress. */
  last: number;
  drained(): void;
  closed(): void;
}

/**
 * The send timeout for answers whose writes are not ours (undici streams into Node's response): one ticker checks each
 * watched socket, and one that has held unsent bytes for `timeoutMs` without any going out is destroyed. Progress is
 * a 'drain' or fewer bytes buffered than at the last tick. Not only 'drain': an answer's last bytes, written without
 * filling the buffer, end the response and no 'drain' follows, yet the answer (and its slot) lasts until they are out.
 * It acts between `timeoutMs` and `timeoutMs` plus one tick (at most a second) after the client stopped reading.
 */
export class SendWatch {
  /** By answer: pipelined answers queued on one connection are each watched until each closes. */
  private readonly answers = new Map<Answer, Watched>();
  private ticker: NodeJS.Timeout | undefined;
  private readonly tickMs: number;

  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tickMs = Math.max(10, Math.min(1000, Math.floor(timeoutMs / 4)));
  }

  /** Watches `writer`, the connection, while `answer` lasts (or until the returned function is called). */
  watch(writer: ClientWriter, answer: Answer): () => void {
    if (writer.destroyed || this.answers.has(answer)) return () => {};
    const watched: Watched = {
      writer,
      since: undefined,
      last: 0,
      drained: () => (watched.since = undefined),
      closed: () => this.forget(answer),
    };
    this.answers.set(answer, watched);
    writer.on('drain', watched.drained);
    writer.on('close', watched.closed);
    answer.on('close', watched.closed);
    if (!this.ticker) {
      this.ticker = setInterval(() => this.check(), this.tickMs);
      this.ticker.unref();
    }
    return watched.closed;
  }

  /** How many answers are watched (for tests). */
  get size(): number {
    return this.answers.size;
  }

  /** One tick: destroys each writer that has held unsent bytes, with none going out, since `timeoutMs` ago or longer. */
  check(): void {
    const now = this.now();
    for (const [answer, watched] of this.answers) {
      const writer = watched.writer;
      const buffered = writer.writableLength;
      if (writer.destroyed) {
        this.forget(answer);
      } else if (buffered === 0) {
        watched.since = undefined;
      } else if (watched.since === undefined || buffered < watched.last) {
        watched.since = now;
      } else if (now - watched.since >= this.timeoutMs) {
        this.forget(answer);
        writer.destroy();
      }
      watched.last = buffered;
    }
  }

  private forget(answer: Answer): void {
    const watched = this.answers.get(answer);
    if (!watched) return;
    this.answers.delete(answer);
    watched.writer.off('drain', watched.drained);
    watched.writer.off('close', watched.closed);
    answer.off('close', watched.closed);
    if (this.answers.size === 0 && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }
}
