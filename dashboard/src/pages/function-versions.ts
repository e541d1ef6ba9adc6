// A function's versions with rollback (after a confirmation step) and its releases.
import { fn, getJson, postJson } from '../api.js';
import { button, h, replace, table } from '../dom.js';
import { formatAgo } from '../format.js';
import { fill, messageOf, type PageContext } from '../page.js';
import type { Release, Version } from '../types.js';

export function versionsSection(ctx: PageContext, name: string, holder: HTMLElement): void {
  const confirmBar = h('div', { class: 'confirm', attrs: { hidden: '' } });
  const list = h('div', {});
  replace(holder, confirmBar, list);

  /** The confirmation step: nothing is sent until "Roll back" is pressed here. */
  const ask = (from: Version | undefined, to: Version) => {
    confirmBar.hidden = false;
    const go = button(`Roll back to v${to.version}`, () => {
      go.disabled = true;
      cancel.disabled = true;
      replace(status, 'Rolling back… (the version starts and passes its health check first)');
      postJson(fn(name, '/rollback'), { to: `v${to.version}` })
        .then(() => ctx.refresh())
        .catch((error: unknown) => {
          go.disabled = false;
          cancel.disabled = false;
          replace(status, h('span', { class: 'problem' }, `Rollback failed: ${messageOf(error)}`));
        });
    }, { class: 'danger', attrs: { 'data-action': 'confirm-rollback' } });
    const cancel = button('Cancel', () => {
      confirmBar.hidden = true;
      confirmBar.replaceChildren();
    });
    const status = h('p', { class: 'muted' });
    replace(
      confirmBar,
      h('p', {}, `Roll ${name} back from ${from ? `v${from.version}` : 'no live version'} to v${to.version} (${to.sha.slice(0, 7)})? New requests go to v${to.version} once it is healthy.`),
      go,
      cancel,
      status,
    );
    go.focus();
  };

  void fill(ctx, list, async () => {
    const { versions } = await getJson<{ versions: Version[] }>(fn(name, '/versions'));
    if (versions.length === 0) return h('p', { class: 'muted' }, 'No versions yet.');
    const live = versions.find((v) => v.live);
    const rows = versions.map((v) => [
      `v${v.version}`,
      v.live ? h('strong', { class: 'live' }, 'live') : '',
      h('code', {}, v.sha.slice(0, 7)),
      // The pusher wrote the message and the author: text.
      h('span', { class: 'commit-message' }, v.message),
      v.author,
      formatAgo(v.createdAt),
      v.live ? '' : button(`Roll back to v${v.version}`, () => ask(live, v), { attrs: { 'data-action': 'rollback', 'data-version': String(v.version) } }),
    ]);
    return table(['Version', '', 'Commit', 'Message', 'Author', 'Built', ''], rows, { class: 'versions' });
  });
}

export function releasesSection(ctx: PageContext, name: string, holder: HTMLElement): void {
  void fill(ctx, holder, async () => {
    const { releases } = await getJson<{ releases: Release[] }>(fn(name, '/releases?limit=20'));
    if (releases.length === 0) return h('p', { class: 'muted' }, 'No releases yet.');
    const version = (n: number | null) => (n === null || n === undefined ? '—' : `v${n}`);
    return table(
      ['When', 'Kind', 'From', 'To', 'Who', 'Detail'],
      releases.map((r) => [formatAgo(r.createdAt), r.kind, version(r.fromVersion), version(r.toVersion), r.who ?? '—', r.detail ?? '']),
      { class: 'releases' },
    );
  });
}
