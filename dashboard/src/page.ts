// What every page is given: where to draw, when it is left, and how to sign out or move on.
import { SignedOut } from './api.js';
import { h, problem, replace } from './dom.js';

export interface PageContext {
  main: HTMLElement;
  /** Aborted when the page is left: streams and late answers stop there. */
  signal: AbortSignal;
  /** Back to the sign-in form with this message. */
  signedOut(error: SignedOut): void;
  navigate(path: string): void;
  /** Draws the current page again (after a change such as a rollback). */
  refresh(): void;
}

/**
 * Fills `holder` with what `load` builds; "Loading…" meanwhile, and a message in its place when it fails, so one part
 * of a page failing leaves the rest.
 */
export async function fill(ctx: PageContext, holder: HTMLElement, load: () => Promise<Node | (Node | null)[]>): Promise<void> {
  replace(holder, h('p', { class: 'muted' }, 'Loading…'));
  try {
    const content = await load();
    if (ctx.signal.aborted) return;
    replace(holder, ...(Array.isArray(content) ? content : [content]));
  } catch (error) {
    if (ctx.signal.aborted) return;
    if (error instanceof SignedOut) ctx.signedOut(error);
    else replace(holder, problem(messageOf(error)));
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A JSON value as one line of text, cut to `max` characters. */
export function jsonText(value: unknown, max = 200): string {
  if (value === null || value === undefined) return '—';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
