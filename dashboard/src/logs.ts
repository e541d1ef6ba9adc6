// A function's logs, followed live: the NDJSON stream of `?follow=1` read with fetch, each line shown as text.
import { fn, request, SignedOut } from './api.js';
import { h } from './dom.js';
import { LineSplitter, parseLogLine, type LogEntry } from './format.js';

/** Lines kept on the page; older ones are dropped so a chatty function cannot grow the page without end. */
export const MAX_LINES = 500;

/** What the log view does with trouble: a refused token signs out; anything else is shown in the view. */
export interface LogView {
  element: HTMLElement;
}

/** Starts following `name`'s logs into a new element; `signal` ends the stream (leaving the page). */
export function followLogs(name: string, signal: AbortSignal, onSignedOut: (error: SignedOut) => void): LogView {
  const list = h('ol', { class: 'log-lines', attrs: { 'aria-live': 'polite' } });
  const status = h('p', { class: 'muted log-status' }, 'Connecting…');
  const element = h('div', { class: 'logs' }, status, list);
  void (async () => {
    try {
      const response = await request(fn(name, '/logs?tail=100&follow=1'), { signal });
      status.textContent = 'Following: new lines appear as they are written.';
      const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
      if (!reader) throw new Error('the browser gave no stream');
      const lines = new LineSplitter();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const line of lines.push(value)) {
          const entry = parseLogLine(line);
          if (entry) show(list, entry);
        }
      }
      status.textContent = 'The stream ended.';
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof SignedOut) onSignedOut(error);
      else status.textContent = `Logs stopped: ${error instanceof Error ? error.message : String(error)}`;
    }
  })();
  return { element };
}

function show(list: HTMLElement, entry: LogEntry): void {
  const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  const time = entry.time ? new Date(entry.time) : undefined;
  list.append(
    h(
      'li',
      { class: `log-line stream-${entry.stream.replace(/[^a-z]/g, '')}` },
      h('time', { attrs: entry.time ? { datetime: entry.time } : {} }, time && !Number.isNaN(time.getTime()) ? time.toLocaleTimeString() : ''),
      h('span', { class: 'log-version' }, entry.version === undefined ? '' : `v${entry.version}`),
      h('span', { class: 'log-stream' }, entry.stream),
      // The function wrote this: it is text, whatever it looks like.
      h('span', { class: 'log-text' }, entry.text),
    ),
  );
  while (list.childElementCount > MAX_LINES) list.firstElementChild?.remove();
  if (stick) list.scrollTop = list.scrollHeight;
}
