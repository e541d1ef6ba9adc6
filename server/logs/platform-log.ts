// Lines the scheduler and the queue's workers write into a function's own log (`lambda logs N`), as platform lines.
import { encodeLine } from './format.js';
import type { LogAppender } from './types.js';

export type PlatformLog = (fn: string, version: number | null, text: string) => void;

export function platformLog(appender: LogAppender | undefined, serverLog: (line: string) => void): PlatformLog {
  return (fn, version, text) => {
    if (!appender) {
      serverLog(`${fn}: ${text}`);
      return;
    }
    appender.append(fn, Buffer.from(encodeLine({ time: Date.now(), stream: 'platform', instance: '', version, text: `[lambda] ${text}` })));
  };
}
