// The functions page: each function's live version, URL, instances, last hour's invocations, errors and p95, a sparkline.
import { getJson, getOptional } from '../api.js';
import { sparkline } from '../charts.js';
import { externalLink, h, link, section, table } from '../dom.js';
import { formatCount, formatInstances, formatMs, formatRate } from '../format.js';
import { fill, type PageContext } from '../page.js';
import type { FunctionMetrics, FunctionSummary, MetricsReport } from '../types.js';

export function renderFunctions(ctx: PageContext): void {
  const holder = h('div', {});
  ctx.main.replaceChildren(h('h1', {}, 'Functions'), section('Last hour', holder));
  void fill(ctx, holder, async () => {
    const [{ functions }, metrics] = await Promise.all([
      getJson<{ functions: FunctionSummary[] }>('/api/v1/functions'),
      // The metrics routes may be missing or empty: the list still shows, with dashes.
      getOptional<MetricsReport>('/api/v1/metrics?since=1h&step=5m').catch(() => null),
    ]);
    if (functions.length === 0) return h('p', { class: 'muted' }, 'No functions yet: push one with git (see the README).');
    const byName = new Map<string, FunctionMetrics>((metrics?.functions ?? []).map((m) => [m.name, m]));
    const rows = functions.map((fn) => {
      const m = byName.get(fn.name);
      return [
        link(`/dashboard/functions/${encodeURIComponent(fn.name)}`, fn.name, { class: 'fn-name' }),
        fn.live ? `v${fn.live.version}` : 'none',
        externalLink(fn.url),
        formatInstances(fn.instances),
        m ? formatCount(m.invocations) : '—',
        m ? `${formatCount(m.errors)} (${formatRate(m.errorRate)})` : '—',
        m ? formatMs(m.p95Ms) : '—',
        sparkline(m?.series),
      ];
    });
    return table(['Function', 'Live', 'URL', 'Instances', 'Invocations', 'Errors', 'p95', 'Invocations, last hour'], rows, { class: 'functions', attrs: { id: 'functions' } });
  });
}
