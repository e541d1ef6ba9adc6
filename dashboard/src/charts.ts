// Charts with uPlot: a sparkline per function and time charts of invocations, errors and duration.
import uPlot from 'uplot';
import { columns, formatMs, localZone, sparsePoints, type MetricsPoint } from './format.js';
import { h } from './dom.js';

/** Colours by meaning; the page's stylesheet uses the same ones. */
const COLOURS = { invocations: '#2f6fdb', errors: '#d1453b', throttles: '#c98a00', p50: '#2e9d6a', p95: '#c98a00', p99: '#d1453b' };
const INVOCATIONS_FILL = 'rgba(47,111,219,0.35)';
const ERRORS_FILL = 'rgba(209,69,59,0.55)';

/** A chart with nothing to draw says so instead of showing empty axes. */
function noData(text = 'no data'): HTMLElement {
  return h('div', { class: 'no-data' }, text);
}

function hasData(series: readonly MetricsPoint[] | undefined): series is MetricsPoint[] {
  return Array.isArray(series) && series.length > 0;
}

/** Counts per step are bars: a lone busy minute among empty ones is a bar, where a line would be a sliver. */
function bars(): uPlot.Series.PathBuilder | undefined {
  return uPlot.paths.bars?.({ size: [0.7, 24, 2] });
}

/** The time axis reaches half a step past the first and last points, so their bars and dots are drawn whole. */
function timeScale(times: readonly number[]): uPlot.Scale {
  const step = times.length > 1 ? (times[1] as number) - (times[0] as number) : 60;
  return { time: true, range: (_u, min, max) => [min - step / 2, max + step / 2] };
}

/**
 * Dots where a sparse series has values: a percentile of one busy step between empty ones has no neighbour to draw a
 * line to. Dense series stay plain lines.
 */
function dots(values: readonly (number | null)[], counts: boolean): uPlot.Series.Points {
  const marked = sparsePoints(values, counts);
  return marked === null ? { show: false } : { show: true, size: 6, space: 0, filter: marked };
}

/** A small bar chart of invocations per step, without axes or legend. */
export function sparkline(series: MetricsPoint[] | undefined): HTMLElement {
  if (!hasData(series)) return noData('—');
  const holder = h('div', { class: 'sparkline', attrs: { 'aria-label': 'invocations over the last hour', role: 'img' } });
  const [times, invocations] = columns(series, ['invocations']);
  const options: uPlot.Options = {
    width: 120,
    height: 28,
    cursor: { show: false },
    legend: { show: false },
    select: { show: false, left: 0, top: 0, width: 0, height: 0 },
    axes: [{ show: false }, { show: false }],
    scales: { x: timeScale(times), y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    series: [{}, { stroke: COLOURS.invocations, width: 1, fill: INVOCATIONS_FILL, paths: bars(), points: { show: false } }],
  };
  new uPlot(options, [times, invocations ?? []], holder);
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

export const INVOCATIONS_CHART: ChartSpec = {
  title: 'Invocations and errors',
  fields: ['invocations', 'errors', 'throttles'],
  labels: ['invocations', 'errors', 'throttles'],
  colours: [COLOURS.invocations, COLOURS.errors, COLOURS.throttles],
};
export const DURATION_CHART: ChartSpec = { title: 'Duration', fields: ['p50Ms', 'p95Ms', 'p99Ms'], labels: ['p50', 'p95', 'p99'], colours: [COLOURS.p50, COLOURS.p95, COLOURS.p99], ms: true };

/** The one note under a page's charts: their times are the browser's. */
export function timesNote(): HTMLElement {
  return h('p', { class: 'muted chart-note' }, `Times are local (${localZone()}).`);
}

/** A time chart of `spec`'s fields over `series`; `width` in CSS pixels. Invocations and errors are bars, the rest lines. */
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
    scales: { x: timeScale(data[0]), y: { range: (_u, _min, max) => [0, Math.max(spec.ms ? 10 : 1, max)] } },
    axes: [{}, { values: (_u, ticks) => ticks.map((tick) => (spec.ms ? formatMs(tick) : String(tick))), size: 64 }],
    series: [
      {},
      ...spec.labels.map((label, index): uPlot.Series => {
        const values = data[index + 1] ?? [];
        const common = { label, stroke: spec.colours[index], value, spanGaps: false };
        // Errors are bars over the invocations' bars: the red part of a bar is the part that failed.
        if (spec.fields[index] === 'invocations') return { ...common, width: 1, fill: INVOCATIONS_FILL, paths: bars(), points: { show: false } };
        if (spec.fields[index] === 'errors') return { ...common, width: 1, fill: ERRORS_FILL, paths: bars(), points: { show: false } };
        return { ...common, width: 1.5, points: dots(values, !spec.ms) };
      }),
    ],
  };
  const holder = h('div', {});
  figure.append(holder);
  new uPlot(options, data as uPlot.AlignedData, holder);
  return figure;
}
