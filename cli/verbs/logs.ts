// `lambda logs N [--since 1h] [--follow] [--version vN] [--build] [--lines N]`: a function's kept output.
import { Agent } from 'undici';
import { Option, type Command } from 'commander';
import { endpointOf } from '../config.js';
import { CliError, usageError } from '../errors.js';
import { functionPath, isRecord, malformed, ndjsonLines, send, type Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';
import { examples, type Verb } from './verb.js';

export const logsVerb: Verb = {
  name: 'logs',
  summary: "print a function's output (START/END/REPORT per invocation), or its last deploy's with --build",
  ssh: true,
  register(program, context) {
    program
      .command('logs')
      .description(this.summary)
      .argument('<name>', 'the function')
      .option('--since <when>', 'only lines since a duration ago (15m, 1h, 2d) or a time (2026-11-25T17:00:00Z)')
      .option('--version <version>', "only this version's lines, e.g. v3 (with --build: that version's deploy)")
      .addOption(new Option('--logs-version <version>').hideHelp())
      .option('--build', "the last deploy's output instead")
      .option('-f, --follow', 'keep printing new lines until interrupted')
      .option('-n, --lines <count>', 'how many of the last lines (0: all; default 100, all with --since or --build)')
      .addHelpText('after', examples('lambda logs greet --since 1h', 'lambda logs greet --follow', 'lambda logs greet --build'))
      .action(async (name: string, options: { since?: string; logsVersion?: string; build?: boolean; follow?: boolean; lines?: string }, command: Command) => {
        await logs(context(command), { name, ...options, version: options.logsVersion });
      });
  },
  /**
   * `lambda logs N --version vN` filters by version, but commander reads the program's own `--version` anywhere: after
   * the `logs` verb it is renamed to the option that verb really reads.
   */
  rewriteArgv(argv) {
    const verb = argv.findIndex((arg) => !arg.startsWith('-'));
    const end = argv.indexOf('--');
    if (verb === -1 || argv[verb] !== 'logs') return [...argv];
    return argv.map((arg, index) => {
      if (index <= verb || (end !== -1 && index > end)) return arg;
      if (arg === '--version') return '--logs-version';
      return arg.startsWith('--version=') ? `--logs-version=${arg.slice('--version='.length)}` : arg;
    });
  },
};

export interface LogsOptions {
  readonly name: string;
  readonly since?: string;
  readonly version?: string;
  readonly build?: boolean;
  readonly follow?: boolean;
  /** How many of the last lines to show; "0": all. Default: 100, or all with --since or --build. */
  readonly lines?: string;
}

/** One log line as the server sends it. */
export interface LogEntry {
  readonly time: string;
  /** out, err, platform (START/END/REPORT and notices) or build. */
  readonly stream: string;
  /** The instance that wrote it; for build lines, the commit. */
  readonly instance: string;
  readonly version: number | null;
  readonly text: string;
}

interface LogsQuery {
  readonly since?: string;
  readonly version?: string;
  readonly build?: boolean;
  readonly follow?: boolean;
  /** The last N lines only; 0 or absent: all. */
  readonly tail?: number;
}

const DEFAULT_LINES = 100;

/**
 * Prints the lines, oldest first: `2026-11-25T17:00:00.000Z v3 a1b2c3 | text` (`!` for stderr), or one JSON
 * object per line with --json. With --follow it runs until interrupted, or fails (exit 1) when the server ends the
 * stream. Bad name or --lines: exit 2 before any request.
 */
export async function logs(ctx: CommandContext, options: LogsOptions): Promise<void> {
  const name = assertFunctionName(options.name);
  const tail = options.lines === undefined ? (options.since !== undefined || options.build ? 0 : DEFAULT_LINES) : lineCount(options.lines);
  const endpoint = await endpointOf(ctx.io.env);
  const query = { since: options.since, version: options.version, build: options.build, follow: options.follow, tail };
  for await (const entry of streamLogs(endpoint, name, query)) {
    ctx.io.stdout.write(ctx.json ? `${JSON.stringify(entry)}\n` : renderLogLine(entry));
  }
  // Only the server ends a followed stream: it stopped or restarted.
  if (options.follow) throw new CliError(`the server ended the log stream (it stopped or restarted); run \`lambda logs ${name} --follow\` again to go on`);
}

/** One line for people; the function's text has its control characters escaped (tabs kept: REPORT lines use them). */
export function renderLogLine(entry: LogEntry): string {
  const who = entry.stream === 'build' ? `build ${entry.instance}` : `${entry.version === null ? '-' : `v${entry.version}`} ${entry.instance.slice(0, 6) || '-'}`;
  const mark = entry.stream === 'err' ? '!' : '|';
  return `${entry.time} ${who} ${mark} ${escapeControl(entry.text)}\n`;
}

/** GET /api/v1/functions/:name/logs as NDJSON, each line yielded as it arrives; with `follow` it ends only when the server closes the stream. */
async function* streamLogs(endpoint: Endpoint, name: string, query: LogsQuery): AsyncGenerator<LogEntry> {
  const params = new URLSearchParams();
  if (query.since !== undefined) params.set('since', query.since);
  if (query.version !== undefined) params.set('version', query.version);
  if (query.tail !== undefined && query.tail > 0) params.set('tail', String(query.tail));
  if (query.build) params.set('build', '1');
  if (query.follow) params.set('follow', '1');
  // A followed function may be silent for hours.
  const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  try {
    const res = await send(endpoint, functionPath(name, `/logs${params.size > 0 ? `?${params}` : ''}`), { method: 'GET', headers: { Accept: 'application/x-ndjson' } }, dispatcher);
    if (!res.body) return;
    for await (const line of ndjsonLines(res.body, endpoint.url, 'while reading logs')) yield toEntry(line);
  } finally {
    await dispatcher.destroy();
  }
}

function toEntry(value: unknown): LogEntry {
  if (!isRecord(value) || typeof value.time !== 'string' || typeof value.text !== 'string') throw malformed('a log line');
  return {
    time: value.time,
    stream: String(value.stream ?? 'out'),
    instance: String(value.instance ?? ''),
    version: typeof value.version === 'number' ? value.version : null,
    text: value.text,
  };
}

function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function lineCount(text: string): number {
  if (!/^\d{1,6}$/.test(text)) throw usageError(`--lines: expected a number of lines (0 for all), got "${text.slice(0, 40)}"`);
  return Number(text);
}
