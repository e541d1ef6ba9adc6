// `lambda logs N [--since 1h] [--follow] [--version vN] [--build] [--lines N]`: a function's kept output.
import { streamLogs, type LogEntry } from '../client-logs.js';
import { loadConfig, requireApiKey } from '../config.js';
import { CliError, usageError } from '../errors.js';
import type { CommandContext } from '../io.js';
import { assertFunctionName } from '../names.js';

export interface LogsOptions {
  readonly name: string;
  readonly since?: string;
  readonly version?: string;
  readonly build?: boolean;
  readonly follow?: boolean;
  /** How many of the last lines to show; "0": all. Default: 100, or all with --since or --build. */
  readonly lines?: string;
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
  const config = await loadConfig(ctx.io.env);
  const endpoint = { url: config.url, apiKey: requireApiKey(config) };
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

function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function lineCount(text: string): number {
  if (!/^\d{1,6}$/.test(text)) throw usageError(`--lines: expected a number of lines (0 for all), got "${text.slice(0, 40)}"`);
  return Number(text);
}
