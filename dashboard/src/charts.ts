// Charts with uPlot: a sparkline per function and time charts of calls, errors and duration.
import uPlot from 'uplot';
import { columns, formatMs, type MetricsPoint } from './format.js';
import { h } from './dom.js';

/** Colours by meaning; the page's stylesheet uses the same ones. */
const COLOURS = { calls: '#2f6fdb', errors: '#d1453b', throttles: '#c98a00', p50: '#2e9d6a', p95: '#c98a00', p99: '#d1453b' };

/** A chart with nothing to draw says so instead of showing empty axes. */
function noData(text = 'no data'): HTMLElement {
  return h('div', { class: 'no-data' }, text);
}

function hasData(series: readonly MetricsPoint[] | undefined): series is MetricsPoint[] {
  return Array.isArray(series) && series.length > 0;
}

/** A small line of calls per step, without axes or legend. */
export function sparkline(series: MetricsPoint[] | undefined): HTMLElement {
  if (!hasData(series)) return noData('—');
  const holder = h('div', { class: 'sparkline', attrs: { 'aria-label': 'calls over the last hour', role: 'img' } });
  const [times, calls] = columns(series, ['invocations']);
  const options: uPlot.Options = {
    width: 120,
    height: 28,
    cursor: { show: false },
    legend: { show: false },
    select: { show: false, left: 0, top: 0, width: 0, height: 0 },
    axes: [{ show: false }, { show: false }],
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    series: [{}, { stroke: COLOURS.calls, width: 1.5, fill: 'rgba(47,111,219,0.12)', points: { show: false } }],
  };
  new uPlot(options, [times, calls ?? []], holder);
  return holder;
}

export interface ChartSpec {
  title: string;
  fields: (keyof Omit<MetricsPoint, 'at'>)[];
  labels: string[];
  colours: string[];
  /** Values in milliseconds (the duration chart) rather than counts. */
  ms?: boolean;
}

export const CALLS_CHART: ChartSpec = { title: 'Calls and errors', fields: ['invocations', 'errors', 'throttles'], labels: ['calls', 'errors', 'throttles'], colours: [COLOURS.calls, COLOURS.errors, COLOURS.throttles] };
export const DURATION_CHART: ChartSpec = { title: 'Duration', fields: ['p50Ms', 'p95Ms', 'p99Ms'], labels: ['p50', 'p95', 'p99'], colours: [COLOURS.p50, COLOURS.p95, COLOURS.p99], ms: true };

/** A time chart of `spec`'s fields over `series`; `width` in CSS pixels. */
export function timeChart(spec: ChartSpec, series: MetricsPoint[] | undefined, width: number): HTMLElement {
  const figure = h('figure', { class: 'chart' }, h('figcaption', {}, spec.title));
  if (!hasData(series)) {
    figure.append(noData());
    return figure;
  }
  const data = columns(series, spec.fields);
  const value = spec.ms ? (_u: uPlot, v: number | null) => formatMs(v) : (_u: uPlot, v: number | null) => (v === null ? '—' : String(v));
  const options: uPlot.Options = {
    width: Math.max(280, width),
    height: 200,
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(spec.ms ? 10 : 1, max)] } },
    axes: [{}, { values: (_u, ticks) => ticks.map((tick) => (spec.ms ? formatMs(tick) : String(tick))), size: 64 }],
    series: [{}, ...spec.labels.map((label, index) => ({ label, stroke: spec.colours[index], width: 1.5, value, spanGaps: false, points: { show: false } }))],
  };
  const holder = h('div', {});
  figure.append(holder);
  new uPlot(options, data as uPlot.AlignedData, holder);
  return figure;
}
