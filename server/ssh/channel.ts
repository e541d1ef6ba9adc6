// The streams of one SSH exec channel, as the command runners see them.
import type { Readable } from 'node:stream';

export interface SshChannel {
  stdin: Readable;
  stdout: { write(data: string | Buffer): unknown };
  stderr: { write(data: string | Buffer): unknown };
  /** `listener` runs once when the client closes the channel or the connection drops. */
  onClose(listener: () => void): void;
}
