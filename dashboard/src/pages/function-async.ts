// A function's async queue (depth, oldest waiting call, recent calls) and its dead letters with replay.
import { fn, getJson, postJson } from '../api.js';
import { button, h, table } from '../dom.js';
import { formatAgo } from '../format.js';
import { fill, jsonText, messageOf, type PageContext } from '../page.js';
import type { Invocation } from '../types.js';

interface InvocationList {
  invocations: Invocation[];
  queue?: { depth: number; oldestWaiting: string | null };
}

export function queueSection(ctx: PageContext, name: string, holder: HTMLElement): void {
  void fill(ctx, holder, async () => {
    const { invocations, queue } = await getJson<InvocationList>(fn(name, '/invocations'));
    const summary = h('p', {}, `Waiting or running: ${queue?.depth ?? 0}; oldest waiting: ${queue?.oldestWaiting ? formatAgo(queue.oldestWaiting) : '—'}.`);
    if (invocations.length === 0) return [summary, h('p', { class: 'muted' }, 'No async invocations yet.')];
    return [
      summary,
      table(
        ['Id', 'Status', 'Attempts', 'Queued', 'Payload', 'Error'],
        invocations.slice(0, 20).map((i) => [h('code', {}, i.id.slice(0, 12)), i.status, String(i.attempts), formatAgo(i.createdAt), h('code', { class: 'payload' }, jsonText(i.payload)), jsonText(i.error)]),
        { class: 'invocations' },
      ),
    ];
  });
}

export function deadLettersSection(ctx: PageContext, name: string, holder: HTMLElement, onReplay: () => void): void {
  void fill(ctx, holder, async () => {
    const { invocations } = await getJson<InvocationList>(fn(name, '/dlq'));
    if (invocations.length === 0) return h('p', { class: 'muted' }, 'No dead letters.');
    return table(
      ['Id', 'Attempts', 'Failed', 'Error', 'Payload', ''],
      invocations.map((letter) => [
        h('code', {}, letter.id.slice(0, 12)),
        String(letter.attempts),
        formatAgo(letter.finishedAt),
        h('span', { class: 'error-text' }, jsonText(letter.error, 300)),
        h('code', { class: 'payload' }, jsonText(letter.payload)),
        replayButton(name, letter, onReplay),
      ]),
      { class: 'dead-letters' },
    );
  });
}

function replayButton(name: string, letter: Invocation, onReplay: () => void): HTMLElement {
  const note = h('span', { class: 'muted' });
  const replay = button('Replay', () => {
    replay.disabled = true;
    postJson<{ invocationId: string }>(fn(name, `/dlq/${encodeURIComponent(letter.id)}/replay`), {})
      .then((answer) => {
        note.textContent = ` queued as ${answer.invocationId.slice(0, 12)}`;
        onReplay();
      })
      .catch((error: unknown) => {
        replay.disabled = false;
        note.textContent = ` ${messageOf(error)}`;
      });
  }, { attrs: { 'data-replay': letter.id } });
  return h('span', {}, replay, note);
}
