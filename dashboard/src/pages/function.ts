// One function's page: its header, charts over a chosen window, versions, releases, env, schedules, async invocations, logs.
import { ApiError, fn, getJson, getOptional, SignedOut } from '../api.js';
import { DURATION_CHART, INVOCATIONS_CHART, timeChart, timesNote } from '../charts.js';
import { button, externalLink, h, link, problem, replace, section, table } from '../dom.js';
import { counted, formatCount, formatInstances, formatMs, formatRate, isWindowName, WINDOWS, type WindowName } from '../format.js';
import { followLogs } from '../logs.js';
import { fill, messageOf, type PageContext } from '../page.js';
import type { FunctionMetrics, FunctionSummary } from '../types.js';
import { deadLettersSection, queueSection } from './function-async.js';
import { envSection, schedulesSection } from './function-config.js';
import { releasesSection, versionsSection } from './function-versions.js';

export function renderFunction(ctx: PageContext, name: string): void {
  // The function is looked up first: a name that is none gets one message, not a "does not exist" in every panel.
  replace(ctx.main, h('h1', {}, name), h('p', { class: 'muted' }, 'Loading…'));
  getJson<FunctionSummary>(fn(name)).then(
    (summary) => {
      if (!ctx.signal.aborted) renderFound(ctx, name, summary);
    },
    (error: unknown) => {
      if (ctx.signal.aborted) return;
      if (error instanceof SignedOut) ctx.signedOut(error);
      else if (error instanceof ApiError && error.status === 404) {
        document.title = 'Not found · Lambda';
        replace(ctx.main, h('h1', {}, 'Not found'), h('p', { attrs: { id: 'no-function' } }, `No function named ${name}. `, link('/dashboard/', 'See the functions.')));
      } else replace(ctx.main, h('h1', {}, name), problem(messageOf(error)));
    },
  );
}

function renderFound(ctx: PageContext, name: string, summary: FunctionSummary): void {
  const charts = h('div', {});
  const parts = { versions: h('div', {}), releases: h('div', {}), env: h('div', {}), schedules: h('div', {}), queue: h('div', {}), dlq: h('div', {}) };
  const logs = followLogs(name, ctx.signal, ctx.signedOut);
  ctx.main.replaceChildren(
    h('h1', {}, name),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Live version'),
      h('dd', { attrs: { id: 'live-version' } }, summary.live ? `v${summary.live.version}` : 'none'),
      h('dt', {}, 'URL'),
      h('dd', {}, externalLink(summary.url)),
      h('dt', {}, 'Instances'),
      h('dd', { attrs: { id: 'instances' } }, formatInstances(summary.instances)),
      h('dt', {}, 'Async queue'),
      h('dd', {}, String(summary.queue.depth)),
    ),
    section('Metrics', charts),
    section('Versions', parts.versions),
    section('Releases', parts.releases),
    h('div', { class: 'columns' }, section('Environment', parts.env), section('Schedules', parts.schedules)),
    section('Async invocations', parts.queue),
    section('Dead letters', parts.dlq),
    h('section', { class: 'card', attrs: { id: 'logs' } }, h('h2', {}, 'Logs'), logs.element),
  );
  metricsSection(ctx, name, charts, windowFromUrl());
  versionsSection(ctx, name, parts.versions);
  releasesSection(ctx, name, parts.releases);
  envSection(ctx, name, parts.env);
  schedulesSection(ctx, name, parts.schedules);
  queueSection(ctx, name, parts.queue);
  deadLettersSection(ctx, name, parts.dlq, () => queueSection(ctx, name, parts.queue));
}

/** The window the address names; one it does not know is taken out of the address, which then says what is shown. */
function windowFromUrl(): WindowName {
  const chosen = new URLSearchParams(location.search).get('window');
  if (isWindowName(chosen)) return chosen;
  if (chosen !== null) history.replaceState(null, '', `${location.pathname}?window=1h`);
  return '1h';
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
      ? `${counted(metrics.invocations, 'invocation')}, ${counted(metrics.errors, 'error')} (${formatRate(metrics.errorRate)}), p50 ${formatMs(metrics.p50Ms)}, p95 ${formatMs(metrics.p95Ms)}, p99 ${formatMs(metrics.p99Ms)}, ${counted(metrics.coldStarts, 'cold start')}, ${counted(metrics.throttles, 'throttle')}`
      : 'No metrics for this window.';
    const byVersion = (metrics?.versions ?? []).filter((v) => v.invocations + v.throttles > 0);
    return [
      h('p', { class: 'totals' }, totals),
      h('div', { class: 'charts' }, timeChart(INVOCATIONS_CHART, metrics?.series, width), timeChart(DURATION_CHART, metrics?.series, width)),
      metrics?.series?.length ? timesNote() : null,
      byVersion.length === 0
        ? null
        : table(
            ['Version', 'Invocations', 'Errors', 'p50', 'p95', 'p99', 'Cold starts', 'Throttles'],
            byVersion.map((v) => [`v${v.version}`, formatCount(v.invocations), `${formatCount(v.errors)} (${formatRate(v.errorRate)})`, formatMs(v.p50Ms), formatMs(v.p95Ms), formatMs(v.p99Ms), formatCount(v.coldStarts), formatCount(v.throttles)]),
            { class: 'by-version' },
          ),
    ];
  });
}
