// A function's env (values masked, each revealed on demand) and its schedules.
import { fn, getJson } from '../api.js';
import { button, h, table } from '../dom.js';
import { formatAgo } from '../format.js';
import { fill, jsonText, messageOf, type PageContext } from '../page.js';
import type { EnvView, Schedule } from '../types.js';

export function envSection(ctx: PageContext, name: string, holder: HTMLElement): void {
  void fill(ctx, holder, async () => {
    const env = await getJson<EnvView>(fn(name, '/env'));
    const rows: (string | Node)[][] = [];
    for (const key of Object.keys(env.vars).sort()) rows.push([h('code', {}, key), secret(name, key, env.vars[key] ?? ''), 'lambda env set']);
    for (const key of Object.keys(env.manifest).sort()) {
      if (!(key in env.vars)) rows.push([h('code', {}, key), h('span', { class: 'env-value' }, env.manifest[key] ?? ''), 'lambda.yaml']);
    }
    if (rows.length === 0) return h('p', { class: 'muted' }, 'No variables.');
    return table(['Name', 'Value', 'Set by'], rows, { class: 'env' });
  });
}

/** A masked value with a button that fetches and shows this one value; hiding it forgets it again. */
function secret(name: string, key: string, masked: string): HTMLElement {
  const value = h('span', { class: 'env-value masked' }, masked);
  const toggle = button('Reveal', () => {
    if (toggle.dataset.shown === '1') {
      value.textContent = masked;
      value.className = 'env-value masked';
      toggle.textContent = 'Reveal';
      toggle.dataset.shown = '0';
      return;
    }
    toggle.disabled = true;
    getJson<EnvView>(fn(name, '/env?reveal=1'))
      .then((env) => {
        value.textContent = env.vars[key] ?? '(no longer set)';
        value.className = 'env-value';
        toggle.textContent = 'Hide';
        toggle.dataset.shown = '1';
      })
      .catch((error: unknown) => {
        value.textContent = `could not reveal: ${messageOf(error)}`;
      })
      .finally(() => {
        toggle.disabled = false;
      });
  }, { class: 'small', attrs: { 'data-reveal': key } });
  return h('span', {}, value, ' ', toggle);
}

export function schedulesSection(ctx: PageContext, name: string, holder: HTMLElement): void {
  void fill(ctx, holder, async () => {
    const { schedules } = await getJson<{ schedules: Schedule[] }>(fn(name, '/schedules'));
    if (schedules.length === 0) return h('p', { class: 'muted' }, 'No schedules.');
    return table(
      ['Cron', 'Source', 'Overlap', 'Last fired', 'Payload'],
      schedules.map((s) => [h('code', {}, s.cron), s.source, s.overlap, formatAgo(s.lastFired), h('code', { class: 'payload' }, jsonText(s.payload))]),
      { class: 'schedules' },
    );
  });
}
