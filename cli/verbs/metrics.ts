// `lambda metrics [N] [--since 1h]`: invocations, errors, error rate, duration percentiles, cold starts, throttles.
import type { Command } from 'commander';
import { endpointOf } from '../config.js';
import { usageError } from '../errors.js';
import { functionPath, isRecord, malformed, readJson, send, type Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';
import { renderTable } from '../render.js';
import { examples, type Verb } from './verb.js';

export const metricsVerb: Verb = {
  name: 'metrics',
  summary: 'print invocations, errors, error rate, p50/p95/p99 duration, cold starts and throttles per function, or per version of one',
  ssh: true,
  register(program, context) {
    program
      .command('metrics')
      .description(this.summary)
      .argument('[name]', 'one function: its total, then each of its versions (* marks the live one), with error kinds and max memory')
      .option('--since <when>', 'how far back: a duration (15m, 1h, 24h, 7d; default 1h, at most the retention) or a time (2026-11-25T17:00:00Z)', sinceOption)
      .addHelpText('after', examples('lambda metrics', 'lambda metrics greet --since 24h', 'lambda metrics --json'))
      .action(async (name: string | undefined, options: { since?: string }, command: Command) => {
        await metrics(context(command), { name, since: options.since });
      });
  },
};

/** The figures the API gives for a window, named as `--json` prints them. */
export interface Figures {
  readonly invocations: number;
  readonly errors: number;
  readonly errorRate: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
  readonly coldStarts: number;
  readonly throttles: number;
  readonly handlerErrors: number;
  readonly timeouts: number;
  readonly crashes: number;
  readonly maxMemoryMb: number | null;
}

/** The window the server answered for: its first minute and end, ISO. */
interface Window {
  readonly since: string;
  readonly until: string;
}

export type FunctionFigures = { readonly name: string } & Figures;
export type VersionFigures = { readonly version: number; readonly live: boolean } & Figures;
export type OneFunctionFigures = FunctionFigures & { readonly versions: readonly VersionFigures[] };

const HEADER = ['INVOCATIONS', 'ERRORS', 'ERROR RATE', 'P50', 'P95', 'P99', 'COLD STARTS', 'THROTTLES'];
/** One function's table adds what tells its versions apart: how they failed and how much memory they used. */
const DETAIL_HEADER = [...HEADER, 'HANDLER', 'TIMEOUTS', 'CRASHES', 'MAX MEMORY'];
const DEFAULT_SINCE = '1h';

/**
 * `--since` as typed, refused at once when it is a bare number: `--since 2 hours` splits into "2" and a stray word,
 * and the server would only say it expected a duration.
 */
function sinceOption(value: string): string {
  if (/^\s*\d+(?:\.\d+)?\s*$/.test(value)) throw usageError(`--since: a duration needs a unit, e.g. 2h, got ${JSON.stringify(value.slice(0, 40))}`);
  return value;
}

/** Without a name: one row per function; with one: its total, then one row per version, newest first. */
export async function metrics(ctx: CommandContext, options: { name?: string; since?: string }): Promise<void> {
  const endpoint = await endpointOf(ctx.io.env);
  if (options.name === undefined) {
    const all = await fetchAll(endpoint, options.since);
    ctx.io.stdout.write(ctx.json ? `${JSON.stringify(all.functions, null, 2)}\n` : renderMetricsTable(all.functions, windowLine(options.since, all.window)));
    return;
  }
  const { window, ...one } = await fetchOne(endpoint, assertFunctionName(options.name), options.since);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(one, null, 2)}\n` : renderFunctionMetrics(one, `${one.name}, ${windowLine(options.since, window)}`));
}

/** What the figures cover, first thing in the table: "last 1h (since 2026-12-05 02:00 UTC)" or "since 2026-12-01 09:00 UTC". */
function windowLine(since: string | undefined, window: Window): string {
  const asked = (since ?? DEFAULT_SINCE).trim();
  const from = `${window.since.slice(0, 16).replace('T', ' ')} UTC`;
  return /^\d+(?:\.\d+)?(?:ms|s|m|h|d)$/.test(asked) ? `last ${asked} (since ${from})` : `since ${from}`;
}

export function renderMetricsTable(functions: readonly FunctionFigures[], window?: string): string {
  if (functions.length === 0) return 'No functions yet. Deploy one with `lambda deploy DIR --name NAME`.\n';
  return titled(window, renderTable(['NAME', ...HEADER], functions.map((fn) => [fn.name, ...cells(fn)])));
}

export function renderFunctionMetrics(fn: OneFunctionFigures, window?: string): string {
  const rows = [['  total', ...detailCells(fn)], ...fn.versions.map((v) => [`${v.live ? '*' : ' '} v${v.version}`, ...detailCells(v)])];
  return titled(window, renderTable(['  VERSION', ...DETAIL_HEADER], rows));
}

function titled(window: string | undefined, table: string): string {
  return window === undefined ? table : `${window}\n\n${table}`;
}

function cells(figures: Figures): string[] {
  return [
    String(figures.invocations),
    String(figures.errors),
    `${(figures.errorRate * 100).toFixed(1)}%`,
    duration(figures.p50Ms),
    duration(figures.p95Ms),
    duration(figures.p99Ms),
    String(figures.coldStarts),
    String(figures.throttles),
  ];
}

function detailCells(figures: Figures): string[] {
  const memory = figures.maxMemoryMb === null ? '-' : `${Math.round(figures.maxMemoryMb)} MB`;
  return [...cells(figures), String(figures.handlerErrors), String(figures.timeouts), String(figures.crashes), memory];
}

/** `-` when nothing ran; milliseconds to one decimal below a second, seconds to two above. */
function duration(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 1000 ? `${Math.round(ms * 10) / 10}ms` : `${(ms / 1000).toFixed(2)}s`;
}

function query(since: string | undefined): string {
  return since === undefined ? '' : `?${new URLSearchParams({ since })}`;
}

/** GET /api/v1/metrics. */
async function fetchAll(endpoint: Endpoint, since: string | undefined): Promise<{ window: Window; functions: FunctionFigures[] }> {
  const body = await readJson(await send(endpoint, `/api/v1/metrics${query(since)}`, { method: 'GET' }));
  if (!isRecord(body) || !Array.isArray(body.functions)) throw malformed('the metrics');
  const functions = body.functions.map((value: unknown) => {
    if (!isRecord(value) || typeof value.name !== 'string') throw malformed('the metrics of a function');
    return { name: value.name, ...toFigures(value) };
  });
  return { window: windowOf(body), functions };
}

/** GET /api/v1/functions/:name/metrics. */
async function fetchOne(endpoint: Endpoint, name: string, since: string | undefined): Promise<OneFunctionFigures & { window: Window }> {
  const body = await readJson(await send(endpoint, functionPath(name, `/metrics${query(since)}`), { method: 'GET' }));
  if (!isRecord(body) || !Array.isArray(body.versions)) throw malformed('the metrics');
  const versions = body.versions.map((value: unknown) => {
    if (!isRecord(value) || typeof value.version !== 'number') throw malformed('the metrics of a version');
    return { version: value.version, live: value.live === true, ...toFigures(value) };
  });
  return { name, ...toFigures(body), versions, window: windowOf(body) };
}

function windowOf(body: Record<string, unknown>): Window {
  const { since, until } = body;
  if (typeof since !== 'string' || typeof until !== 'string' || Number.isNaN(Date.parse(since))) throw malformed('the metrics window');
  return { since: new Date(since).toISOString(), until };
}

function toFigures(value: Record<string, unknown>): Figures {
  const count = (key: string) => (typeof value[key] === 'number' ? (value[key] as number) : 0);
  const ms = (key: string) => (typeof value[key] === 'number' ? (value[key] as number) : null);
  return {
    invocations: count('invocations'),
    errors: count('errors'),
    errorRate: count('errorRate'),
    p50Ms: ms('p50Ms'),
    p95Ms: ms('p95Ms'),
    p99Ms: ms('p99Ms'),
    coldStarts: count('coldStarts'),
    throttles: count('throttles'),
    handlerErrors: count('handlerErrors'),
    timeouts: count('timeouts'),
    crashes: count('crashes'),
    maxMemoryMb: ms('maxMemoryMb'),
  };
}
