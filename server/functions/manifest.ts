// Parses and validates lambda.yaml; every problem names the key and its line.
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type Pair } from 'yaml';
import { LambdaError, escapeControl } from '../errors.js';
import { ENV_NAME, reservedEnvReason } from './env-names.js';
import { FUNCTION_NAME } from './names.js';
import { cronProblem } from '../schedules/cron.js';
import { parseDuration, parseSize } from '../config/units.js';

export const RUNTIMES = ['node20', 'python3', 'go', 'docker'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

export interface Schedule {
  cron: string;
  payload?: unknown;
  overlap: 'skip' | 'allow';
}

export interface Manifest {
  /** The function's name, which `lambda deploy` uses when no --name is given; the server names functions by their repository. */
  name?: string;
  runtime: RuntimeName;
  handler?: string;
  timeoutMs: number;
  memoryBytes: number;
  concurrency: number;
  minInstances: number;
  maxInstances: number;
  /** Undefined: the server's default (LAMBDA_IDLE_TIMEOUT). */
  idleTimeoutMs?: number;
  env: Record<string, string>;
  schedules: Schedule[];
  auth: 'none' | 'key';
}

export const MANIFEST_FILE = 'lambda.yaml';
const MIB = 1024 * 1024;
const DEFAULTS = { timeoutMs: 10_000, memoryBytes: 256 * MIB, concurrency: 8, minInstances: 0, maxInstances: 4 };

/** A manifest is a page of settings: anything larger is refused before it is parsed, by its size alone. */
export const MANIFEST_MAX_BYTES = 64 * 1024;
/** Problems listed at most; the rest are counted, so a hostile file cannot make a megabyte of error. */
const MAX_PROBLEMS = 20;
/** A key is shown up to this many characters, and a near key suggested only for keys this short or shorter. */
const SHOWN_KEY_CHARS = 64;
const SUGGESTED_KEY_CHARS = 32;

/** The refusal of a manifest of `bytes` bytes, over MANIFEST_MAX_BYTES. */
export function manifestTooLarge(bytes: number): LambdaError {
  const problem = `is ${bytes} bytes, over the limit of ${MANIFEST_MAX_BYTES} bytes (${MANIFEST_MAX_BYTES / 1024} KiB)`;
  return new LambdaError('LAMBDA_ERR_MANIFEST_INVALID', { detail: problem }, { problems: [problem], file: MANIFEST_FILE, bytes, limit: MANIFEST_MAX_BYTES });
}

/** User text as a problem shows it: control characters escaped, cut at `max` characters with "…". */
function clip(text: string, max = SHOWN_KEY_CHARS): string {
  return escapeControl(text.length > max ? `${text.slice(0, max)}…` : text);
}

class Problems {
  readonly list: string[] = [];
  /** Problems found beyond MAX_PROBLEMS, only counted. */
  private more = 0;
  constructor(private readonly lines: LineCounter) {}

  add(node: Node | null | undefined, key: string, message: string): void {
    if (this.full()) return;
    this.list.push(`${this.where(node)}${clip(key)}: ${message}`);
  }

  /** A key not allowed where it is (`path` names it, e.g. schedules[0].crn): the allowed key it is nearest to, or all of them. */
  unknown(node: Node | null | undefined, path: string, key: string, allowed: readonly string[]): void {
    if (this.full()) return;
    // A long key is no typo of a short one, and comparing it would cost time in proportion to its length.
    const near = key.length <= SUGGESTED_KEY_CHARS ? nearest(key, allowed) : undefined;
    const hint = near === undefined ? `allowed: ${allowed.join(', ')}` : `did you mean "${near}"?`;
    this.list.push(`${this.where(node)}unknown key "${clip(path)}" (${hint})`);
  }

  /** Every problem to show, the count of those left out last. */
  all(): string[] {
    return this.more > 0 ? [...this.list, `… and ${this.more} more`] : this.list;
  }

  private full(): boolean {
    if (this.list.length < MAX_PROBLEMS) return false;
    this.more++;
    return true;
  }

  private where(node: Node | null | undefined): string {
    const offset = node?.range?.[0];
    return offset === undefined ? '' : `line ${this.lines.linePos(offset).line}: `;
  }
}

/**
 * The allowed key a typo most likely meant: the fewest edits (a swap of two letters counts as one), ignoring case and
 * the `_`/`-` of other spellings, within a third of the key's length; none when nothing is that near.
 */
export function nearest(key: string, allowed: readonly string[]): string | undefined {
  const plain = (text: string) => text.toLowerCase().replace(/[_-]/g, '');
  const typed = plain(key);
  let best: { key: string; distance: number } | undefined;
  for (const candidate of allowed) {
    const distance = editDistance(typed, plain(candidate));
    if (distance <= Math.max(1, Math.floor(candidate.length / 3)) && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, rows[i - 2][j - 2] + 1);
      rows[i][j] = value;
    }
  }
  return rows[a.length][b.length];
}

/** How a problem is shown wherever it is shown (a push, `lambda validate`, the API's message): "lambda.yaml: line 3: …". */
export function manifestProblemLine(problem: string): string {
  return `${MANIFEST_FILE}: ${problem}`;
}

/** Parses lambda.yaml text; throws LAMBDA_ERR_MANIFEST_INVALID naming every bad key and its line. */
export function parseManifest(text: string): Manifest {
  const bytes = Buffer.byteLength(text);
  if (bytes > MANIFEST_MAX_BYTES) throw manifestTooLarge(bytes);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const line = first.linePos?.[0]?.line ?? lines.linePos(first.pos[0]).line;
    const detail = `${line ? `line ${line}: ` : ''}not valid YAML (${clip(first.message.split('\n')[0] ?? '', 200)})`;
    throw new LambdaError('LAMBDA_ERR_MANIFEST_INVALID', { detail });
  }
  const problems = new Problems(lines);
  const root = doc.contents;
  if (!isMap(root)) {
    throw new LambdaError('LAMBDA_ERR_MANIFEST_INVALID', { detail: 'expected a mapping of keys such as "runtime: node20"' });
  }
  const manifest: Partial<Manifest> & { env: Record<string, string>; schedules: Schedule[] } = {
    ...DEFAULTS,
    env: {},
    schedules: [],
    auth: 'none',
  };
  const seen = new Set<string>();
  for (const pair of root.items as Pair<Node, Node>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '?';
    seen.add(key);
    const reader = FIELDS[key];
    if (!reader) {
      problems.unknown(pair.key, key, key, Object.keys(FIELDS));
      continue;
    }
    reader(pair.value, manifest, problems);
  }
  if (!seen.has('runtime')) problems.add(null, 'runtime', `is required (one of ${RUNTIMES.join(', ')})`);
  if (manifest.runtime && !WITHOUT_HANDLER.has(manifest.runtime) && !manifest.handler && !seen.has('handler')) {
    problems.add(null, 'handler', `is required for runtime ${manifest.runtime} (e.g. "index.handler")`);
  }
  checkHandlerForRuntime(manifest, root.items.find((p) => isScalar(p.key) && p.key.value === 'handler')?.value as Node | undefined, problems);
  if ((manifest.minInstances ?? 0) > (manifest.maxInstances ?? 1)) {
    problems.add(root.items.find((p) => isScalar(p.key) && p.key.value === 'minInstances')?.value as Node, 'minInstances', 'must not be above maxInstances');
  }
  if (problems.list.length > 0) {
    const all = problems.all();
    throw new LambdaError('LAMBDA_ERR_MANIFEST_INVALID', { detail: all.join('; ') }, { problems: all, file: MANIFEST_FILE });
  }
  return manifest as Manifest;
}

/** Runtimes whose function is the whole repository: docker (its image's CMD), go (its package main). */
const WITHOUT_HANDLER: ReadonlySet<string> = new Set(['docker', 'go']);

/** python3: "module.function" with Python names ("pkg/module" or "pkg.module" for a module in a package); docker and go: none. */
function checkHandlerForRuntime(manifest: Partial<Manifest>, node: Node | undefined, problems: Problems): void {
  if (!node) return;
  if (manifest.runtime === 'docker') {
    problems.add(node, 'handler', "is not used by runtime docker: the image's own CMD serves the function (docs/runtime-protocol.md)");
    manifest.handler = undefined;
  } else if (manifest.runtime === 'go') {
    problems.add(node, 'handler', "is not used by runtime go: the repository's package main is the function, run once per invocation");
    manifest.handler = undefined;
  } else if (manifest.runtime === 'python3' && manifest.handler !== undefined) {
    const dot = manifest.handler.lastIndexOf('.');
    const names = manifest.handler.slice(0, dot).split(/[/.]/);
    if (!names.every((name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name))) {
      problems.add(node, 'handler', `expected "module.function" with Python names (e.g. app.handler), got ${show(manifest.handler)}`);
    }
  }
}

const SCHEDULE_KEYS = ['cron', 'payload', 'overlap'] as const;

/** AWS Lambda's runtime identifiers, as a user bringing a function over writes them: the runtime that runs it here. */
const AWS_RUNTIMES: [RegExp, string][] = [
  [/^nodejs\d+\.x$/i, 'node20'],
  [/^python3(\.\d+)?$/i, 'python3'],
  [/^(go1\.x|provided(\.al2(023)?)?)$/i, 'go'],
];

function runtimeHint(value: unknown): string {
  const match = typeof value === 'string' ? AWS_RUNTIMES.find(([pattern]) => pattern.test(value.trim())) : undefined;
  return match ? ` (did you mean "${match[1]}"?)` : '';
}

type FieldReader = (node: Node | null, manifest: Partial<Manifest>, problems: Problems) => void;

const FIELDS: Record<string, FieldReader> = {
  runtime: (node, m, p) => {
    const value = scalar(node);
    if (typeof value === 'string' && (RUNTIMES as readonly string[]).includes(value)) m.runtime = value as RuntimeName;
    else p.add(node, 'runtime', `expected one of ${RUNTIMES.join(', ')}, got ${show(value)}${runtimeHint(value)}`);
  },
  handler: (node, m, p) => {
    const value = scalar(node);
    if (typeof value === 'string' && validHandler(value)) m.handler = value;
    else p.add(node, 'handler', `expected "file.export" inside the repository (e.g. index.handler), got ${show(value)}`);
  },
  timeout: (node, m, p) => {
    const ms = duration(scalar(node));
    if (ms !== undefined && ms >= 1 && ms <= 900_000) m.timeoutMs = ms;
    else p.add(node, 'timeout', `expected a duration from 1ms to 15m such as "10s" or "500ms", got ${show(scalar(node))}`);
  },
  memory: (node, m, p) => {
    const bytes = memory(scalar(node));
    if (bytes !== undefined && bytes >= 32 * MIB && bytes <= 16 * 1024 * MIB) m.memoryBytes = bytes;
    else p.add(node, 'memory', `expected a size from 32Mi to 16Gi such as "256Mi", got ${show(scalar(node))}`);
  },
  idleTimeout: (node, m, p) => {
    const ms = duration(scalar(node));
    if (ms !== undefined && ms >= 100 && ms <= 24 * 3_600_000) m.idleTimeoutMs = ms;
    else p.add(node, 'idleTimeout', `expected a duration from 100ms to 24h such as "5m" or "30s", got ${show(scalar(node))}`);
  },
  concurrency: integerField('concurrency', 1, 1000),
  minInstances: integerField('minInstances', 0, 100),
  maxInstances: integerField('maxInstances', 1, 100),
  env: (node, m, p) => {
    if (!isMap(node)) {
      p.add(node, 'env', 'expected a mapping of NAME: value');
      return;
    }
    const env: Record<string, string> = {};
    for (const pair of node.items as Pair<Node, Node>[]) {
      const name = isScalar(pair.key) ? String(pair.key.value) : '';
      const value = scalar(pair.value);
      if (!ENV_NAME.test(name)) p.add(pair.key, `env.${name}`, 'is not a valid variable name');
      else if (reservedEnvReason(name)) p.add(pair.key, `env.${name}`, reservedEnvReason(name) as string);
      else if (value === undefined || value === null || typeof value === 'object') p.add(pair.value, `env.${name}`, 'expected a string, number or boolean');
      // The container engine cannot pass a NUL byte in a variable; refuse it here, with the key and line.
      else if (String(value).includes('\0')) p.add(pair.value, `env.${name}`, 'must not contain a NUL byte');
      // Env values are text: keep "08080" or "1.10" as written, not as YAML's number reading of them.
      else env[name] = isScalar(pair.value) && typeof pair.value.source === 'string' ? pair.value.source : String(value);
    }
    m.env = env;
  },
  schedules: (node, m, p) => {
    if (!isSeq(node)) {
      p.add(node, 'schedules', 'expected a list of { cron, payload, overlap }');
      return;
    }
    m.schedules = [];
    node.items.forEach((item, index) => {
      const key = `schedules[${index}]`;
      if (!isMap(item)) {
        p.add(item as Node, key, 'expected a mapping with a cron key');
        return;
      }
      const schedule: Schedule = { cron: '', overlap: 'skip' };
      for (const pair of item.items as Pair<Node, Node>[]) {
        const name = isScalar(pair.key) ? String(pair.key.value) : '?';
        const value = pair.value;
        if (name === 'cron') {
          const cron = scalar(value);
          const problem = typeof cron === 'string' ? cronProblem(cron) : 'not text';
          if (typeof cron === 'string' && problem === undefined) schedule.cron = cron;
          else p.add(value, `${key}.cron`, `expected 5 or 6 cron fields (6 = seconds first), got ${show(cron)} (${clip(problem ?? '', 200)})`);
        } else if (name === 'payload') {
          schedule.payload = value?.toJSON();
        } else if (name === 'overlap') {
          const overlap = scalar(value);
          if (overlap === 'skip' || overlap === 'allow') schedule.overlap = overlap;
          else p.add(value, `${key}.overlap`, `expected skip or allow, got ${show(overlap)}`);
        } else {
          p.unknown(pair.key, `${key}.${name}`, name, SCHEDULE_KEYS);
        }
      }
      if (!item.items.some((pair) => isScalar(pair.key) && pair.key.value === 'cron')) p.add(item, `${key}.cron`, 'is required');
      m.schedules?.push(schedule);
    });
  },
  auth: (node, m, p) => {
    const value = scalar(node);
    if (value === 'none' || value === 'key') m.auth = value;
    else p.add(node, 'auth', `expected none or key, got ${show(value)}`);
  },
  name: (node, m, p) => {
    const value = scalar(node);
    if (typeof value === 'string' && FUNCTION_NAME.test(value)) m.name = value;
    else p.add(node, 'name', `expected a function name (lower-case letters, digits and dashes, starting with a letter), got ${show(value)}`);
  },
};

function integerField(key: 'concurrency' | 'minInstances' | 'maxInstances', min: number, max: number): FieldReader {
  return (node, m, p) => {
    const value = scalar(node);
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) m[key] = value;
    else p.add(node, key, `expected a whole number from ${min} to ${max}, got ${show(value)}`);
  };
}

function scalar(node: Node | null): unknown {
  if (node === null || node === undefined) return null;
  return isScalar(node) ? node.value : { nonScalar: true };
}

function show(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'object') return 'a list or mapping';
  const json = JSON.stringify(value);
  return json.length > SHOWN_KEY_CHARS ? `${json.slice(0, SHOWN_KEY_CHARS)}…` : json;
}

/** "10s", "500ms", "2m", "1h" or a bare number of seconds, in milliseconds. */
export function duration(value: unknown): number | undefined {
  if (typeof value === 'number') return value > 0 ? Math.round(value * 1000) : undefined;
  // No days: no timeout or idle time of a function is that long.
  return typeof value === 'string' ? parseDuration(value, ['ms', 's', 'm', 'h']) : undefined;
}

/** "256Mi", "1Gi", "512M" or a bare number of MiB, in bytes. */
export function memory(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value * MIB : undefined;
  // A function's memory is asked in MiB or more: a size in KiB is a slip, not a request.
  return typeof value === 'string' ? parseSize(value, ['Mi', 'Gi', 'M', 'G']) : undefined;
}

/** "dir/file.export": a relative path inside the repository (no "..") and a JavaScript/Python identifier. */
function validHandler(handler: string): boolean {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) return false;
  const file = handler.slice(0, dot);
  const segments = file.split('/');
  return (
    /^[A-Za-z_$][\w$]*$/.test(handler.slice(dot + 1)) &&
    segments.every((segment) => /^[A-Za-z0-9_\-.]+$/.test(segment) && segment !== '.' && segment !== '..')
  );
}
