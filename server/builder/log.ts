// The builder's output channel: every line is cleaned of escapes and control characters before it leaves the builder.
import { cleanLines } from './clean-text.js';

/** What the build tells the pusher: detail lines, and warnings (the whole output of a failed step). */
export interface BuildLog {
  detail(text: string): void;
  warn(text: string): void;
}

/** Wraps the builder's caller-facing callback; multi-line text becomes several clean lines, blank lines are dropped. */
export function buildLog(onLine: (line: string, level?: 'warn') => void): BuildLog {
  return {
    detail: (text) => {
      for (const line of cleanLines(text)) onLine(line);
    },
    warn: (text) => {
      for (const line of cleanLines(text)) onLine(line, 'warn');
    },
  };
}
