// What people see: deploy progress, the function table and error lines, as pure functions of the data.
import type { DeployEvent } from './verbs/deploy.js';
import type { FunctionSummary } from './verbs/list.js';
import type { CreatedToken, TokenSummary } from './verbs/tokens.js';

/** Output lines that belong to a step are indented this much (Dokku's and Heroku's convention). */
export const INDENT = ' '.repeat(7);

/** A piece of text for one of the two output streams, in the order it must be written. */
export interface Write {
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

/** `[1/3] Packaging function code...` starts the deploy; the rest comes from the server. */
export type DeployRenderEvent = { readonly type: 'packing' } | DeployEvent;

/** What the renderer remembers between events: whether a `...` line awaits its ` Done.`. */
export interface DeployRenderState {
  readonly open: 'packing' | 'start' | null;
  readonly started: boolean;
  readonly announced: boolean;
}

export const initialDeployState: DeployRenderState = { open: null, started: false, announced: false };

/** One deploy event as text; a line left open by `...` is ended first when something else must be printed. */
export function renderDeployEvent(
  previous: DeployRenderState,
  event: DeployRenderEvent,
): { state: DeployRenderState; writes: Write[] } {
  let state = previous;
  const writes: Write[] = [];
  const out = (text: string): void => void writes.push({ stream: 'stdout', text });
  const closeOpenLine = (): void => {
    if (state.open) out('\n');
    state = { ...state, open: null };
  };

  switch (event.type) {
    case 'packing':
      closeOpenLine();
      out('[1/3] Packaging function code...');
      state = { ...state, open: 'packing' };
      break;
    case 'uploaded':
      if (state.open === 'packing') out(' Done.\n');
      state = { ...state, open: null };
      break;
    case 'step':
      if (event.phase === 'build') {
        closeOpenLine();
        out(event.image ? `[2/3] Building image "${event.image}"...\n` : '[2/3] Building image...\n');
      } else if (event.phase === 'start') {
        closeOpenLine();
        out('[3/3] Starting container...');
        state = { ...state, open: 'start', started: true };
      } else if (event.phase === 'live') {
        if (state.open === 'start') out(' Done.\n');
        else if (state.started) {
          closeOpenLine();
          out(`${INDENT}Done.\n`);
        } else {
          closeOpenLine();
          out('[3/3] Starting container... Done.\n');
        }
        state = { ...state, open: null, started: true };
        if (event.url) {
          out(liveLine(event.url));
          state = { ...state, announced: true };
        }
      }
      // The manifest step is not one of the three stages people see; its problems arrive as errors.
      break;
    case 'detail':
      // Detail while the container starts ("healthy in 230 ms") would split "[3/3] Starting container... Done.".
      if (state.open === 'start') break;
      closeOpenLine();
      out(`${INDENT}${event.text}\n`);
      break;
    case 'warn':
      closeOpenLine();
      writes.push({ stream: 'stderr', text: renderWarning(event.text) });
      break;
    case 'result':
      closeOpenLine();
      if (event.ok && !state.announced && event.deployment.url) {
        out(liveLine(event.deployment.url));
        state = { ...state, announced: true };
      }
      break;
  }
  return { state, writes };
}

/** ` !     message (CODE)`, every line of the message prefixed, as Dokku and Heroku print errors. */
export function renderError(message: string, code?: string): string {
  const text = code ? `${message} (${code})` : message;
  return renderWarning(text);
}

/**
 * Control characters but the line break shown as `\xNN`: an error may echo what was typed (an option, a verb, a
 * value), and over SSH as at a terminal an escape sequence in it must not clear the screen or forge a line.
 */
export function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** With --json: one line `{"error":{"code","message"}}` on stderr; `code` is null for failures only the client has. */
export function renderJsonError(message: string, code?: string): string {
  return `${JSON.stringify({ error: { code: code ?? null, message } })}\n`;
}

export function renderWarning(text: string): string {
  return `${text.split('\n').map((line) => ` !     ${line}`).join('\n')}\n`;
}

/** NAME  VERSION  SHA  URL, columns padded to their widest cell; `-` where nothing is live. */
export function renderFunctionsTable(functions: readonly FunctionSummary[]): string {
  if (functions.length === 0) return 'No functions yet. Deploy one with `lambda deploy DIR --name NAME`.\n';
  const rows = functions.map((fn) => [
    fn.name,
    fn.live ? `v${fn.live.version}` : '-',
    fn.live ? fn.live.sha.slice(0, 12) : '-',
    fn.url || '-',
  ]);
  return renderTable(['NAME', 'VERSION', 'SHA', 'URL'], rows);
}

/** ID  NAME  CREATED  LAST USED; `-` for no name or never used. */
export function renderTokensTable(tokens: readonly TokenSummary[]): string {
  const scope = (token: TokenSummary) => (token.scope === 'invoke' ? `invoke${token.function ? `:${token.function}` : ''}` : 'admin');
  const rows = tokens.map((token) => [token.id, token.name || '-', token.createdAt, token.lastUsedAt ?? '-', scope(token)]);
  return renderTable(['ID', 'NAME', 'CREATED', 'LAST USED', 'SCOPE'], rows);
}

/** The new token and its key, which the server shows this once; the key alone on the last line. */
export function renderCreatedToken(token: CreatedToken): string {
  const named = token.name ? ` (${token.name})` : '';
  return `Created token ${token.id}${named}. It is shown only now; keep it somewhere safe:\n${token.key}\n`;
}

/** A left-aligned table with two spaces between columns and no trailing spaces. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all
    .map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd())
    .map((line) => `${line}\n`)
    .join('');
}

/** Text from commits, people and handlers (messages, names, values, results) cannot move the terminal's cursor. */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function liveLine(url: string): string {
  return `Your function is live at: ${url}\n`;
}
