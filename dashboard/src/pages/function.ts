// One function's page: its header, charts over a chosen window, versions, releases, env, schedules, async calls, logs.
import { fn, getJson, getOptional } from '../api.js';
import { CALLS_CHART, DURATION_CHART, timeChart } from '../charts.js';
import { button, externalLink, h, section, table } from '../dom.js';
import { formatCount, formatMs, formatRate, isWindowName, WINDOWS, type WindowName } from '../format.js';
import { followLogs } from '../logs.js';
import { fill, type PageContext } from '../page.js';
import type { FunctionMetrics, FunctionSummary } from '../types.js';
import { deadLettersSection, queueSection } from './function-async.js';
import { envSection, schedulesSection } from './function-config.js';
import { releasesSection, versionsSection } from './function-versions.js';

export function renderFunction(ctx: PageContext, name: string): void {
  const header = h('div', { class: 'fn-header' });
  const charts = h('div', {});
  const parts = { versions: h('div', {}), releases: h('div', {}), env: h('div', {}), schedules: h('div', {}), queue: h('div', {}), dlq: h('div', {}) };
  const logs = followLogs(name, ctx.signal, ctx.signedOut);
  ctx.main.replaceChildren(
    h('h1', {}, name),
    header,
    section('Metrics', charts),
    section('Versions', parts.versions),
    section('Releases', parts.releases),
    h('div', { class: 'columns' }, section('Environment', parts.env), section('Schedules', parts.schedules)),
    section('Async calls', parts.queue),
    section('Dead letters', parts.dlq),
    h('section', { class: 'card', attrs: { id: 'logs' } }, h('h2', {}, 'Logs'), logs.element),
  );

  void fill(ctx, header, async () => {
    const summary = await getJson<FunctionSummary>(fn(name));
    const instances = summary.instances ? `${summary.instances.running} running${summary.instances.starting ? `, ${summary.instances.starting} starting` : ''}` : '—';
    return h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Live version'),
      h('dd', { attrs: { id: 'live-version' } }, summary.live ? `v${summary.live.version}` : 'none'),
      h('dt', {}, 'URL'),
      h('dd', {}, externalLink(summary.url)),
      h('dt', {}, 'Instances'),
      h('dd', {}, instances),
      h('dt', {}, 'Async queue'),
      h('dd', {}, String(summary.queue.depth)),
    );
  });
  metricsSection(ctx, name, charts, windowFromUrl());
  versionsSection(ctx, name, parts.versions);
  releasesSection(ctx, name, parts.releases);
  envSection(ctx, name, parts.env);
  schedulesSection(ctx, name, parts.schedules);
  queueSection(ctx, name, parts.queue);
  deadLettersSection(ctx, name, parts.dlq, () => queueSection(ctx, name, parts.queue));
}

function windowFromUrl(): WindowName {
  const chosen = new URLSearchParams(location.search).get('window');
  return isWindowName(chosen) ? chosen : '1h';
}

/** The window picker and the charts for the chosen window; the choice is kept in the address (?window=24h). */
function metricsSection(ctx: PageContext, name: string, holder: HTMLElement, chosen: WindowName): void {
  const picker = h(
    'div',
    { class: 'picker', attrs: { role: 'group', 'aria-label': 'window' } },
    ...(Object.keys(WINDOWS) as WindowName[]).map((w) =>
      button(w, () => {
        history.replaceState(null, '', `${location.pathname}?window=${w}`);
        metricsSection(ctx, name, holder, w);
      }, { class: w === chosen ? 'selected' : '', attrs: { 'aria-pressed': String(w === chosen), 'data-window': w } }),
    ),
  );
  const body = h('div', {});
  holder.replaceChildren(picker, body);
  const { since, step } = WINDOWS[chosen];
  void fill(ctx, body, async () => {
    // The metrics routes may be missing (404): the charts say "no data" and the rest of the page stands.
    const metrics = await getOptional<FunctionMetrics>(fn(name, `/metrics?since=${since}&step=${step}`));
    const width = Math.min(560, Math.max(280, (holder.clientWidth || 900) / 2 - 24));
    const totals = metrics
      ? `${formatCount(metrics.invocations)} calls, ${formatCount(metrics.errors)} errors (${formatRate(metrics.errorRate)}), p50 ${formatMs(metrics.p50Ms)}, p95 ${formatMs(metrics.p95Ms)}, p99 ${formatMs(metrics.p99Ms)}, ${formatCount(metrics.coldStarts)} cold starts, ${formatCount(metrics.throttles)} throttles`
      : 'No metrics for this window.';
    const byVersion = (metrics?.versions ?? []).filter((v) => v.invocations + v.throttles > 0);
    return [
      h('p', { class: 'totals' }, totals),
      h('div', { class: 'charts' }, timeChart(CALLS_CHART, metrics?.series, width), timeChart(DURATION_CHART, metrics?.series, width)),
      byVersion.length === 0
        ? null
        : table(
            ['Version', 'Calls', 'Errors', 'p50', 'p95', 'p99', 'Cold starts', 'Throttles'],
            byVersion.map((v) => [`v${v.version}`, formatCount(v.invocations), `${formatCount(v.errors)} (${formatRate(v.errorRate)})`, formatMs(v.p50Ms), formatMs(v.p95Ms), formatMs(v.p99Ms), formatCount(v.coldStarts), formatCount(v.throttles)]),
            { class: 'by-version' },
          ),
    ];
  });
}
