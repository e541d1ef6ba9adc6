// The body of a registration (PUT /api/v1/functions/:name) read into the files of one commit: its `files`
// decoded and checked path by path, every other key written as the commit's lambda.yaml and checked as a push's.
import { stringify } from 'yaml';
import { LambdaError } from '../errors.js';
import { MANIFEST_FILE, MANIFEST_MAX_BYTES, manifestTooLarge, nearest, parseManifest } from '../functions/manifest.js';

/** Files one registration may carry: enough for any function sent this way, few enough to list in one commit quickly. */
export const MAX_FILES = 10_000;
/** A path's length in bytes, and one of its names' (what Linux file systems take). */
export const MAX_PATH_BYTES = 1024;
export const MAX_NAME_BYTES = 255;
/** How deeply the manifest's keys may nest (a schedule's payload): deeper is no settings page, and costs stack. */
export const MAX_MANIFEST_DEPTH = 32;

export interface RegisteredFile {
  /** Relative, with `/` between names; checked by pathProblem. */
  path: string;
  content: Buffer;
}

export interface RegisterLimits {
  /** Bytes the decoded files may take together (the same bound an uploaded archive has unpacked). */
  maxBytes: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The files a registration commits, lambda.yaml included. Throws LAMBDA_ERR_BAD_REQUEST naming the field,
 * LAMBDA_ERR_CODE_TOO_LARGE, or the manifest's own LAMBDA_ERR_MANIFEST_INVALID.
 */
export function registrationFiles(body: Record<string, unknown>, name: string, limits: RegisterLimits): RegisteredFile[] {
  const { files, ...keys } = body;
  if (files === undefined) {
    // "file" or "Files" for "files": that key is the typo, not a lambda.yaml key.
    const typo = Object.keys(keys).find((key) => nearest(key, ['files']) !== undefined);
    if (typo !== undefined) throw bad(typo.slice(0, 100), `${shown(typo)}: unknown key (did you mean "files"?)`);
    throw bad('files', '"files" is required: an object of path → base64 content, e.g. {"index.js": "ZXhwb3J0cy5oYW5kbGVyID0g..."}');
  }
  if (typeof files !== 'object' || files === null || Array.isArray(files)) throw bad('files', '"files" must be an object of path → base64 content');
  const entries = Object.entries(files as Record<string, unknown>);
  if (entries.length === 0) throw bad('files', '"files" is empty: give at least one file');
  if (entries.length > MAX_FILES) throw bad('files', `"files" has ${entries.length} files, over the limit of ${MAX_FILES}`);
  if (typeof keys.name === 'string' && keys.name !== name) throw bad('name', `"name" is ${shown(keys.name)} but the URL registers "${name}": leave "name" out or make them equal`);

  // `name` may come along with a lambda.yaml of its own: it only repeats the URL's.
  const manifestKeys = Object.keys(keys).some((key) => key !== 'name');
  const givenManifest = Object.hasOwn(files, MANIFEST_FILE);
  if (manifestKeys && givenManifest) {
    throw bad(field(MANIFEST_FILE), `${field(MANIFEST_FILE)}: give lambda.yaml's keys beside "files" or as files["lambda.yaml"], not both`);
  }
  if (!manifestKeys && !givenManifest) {
    throw bad('runtime', '"runtime" is required: give lambda.yaml\'s keys beside "files" (e.g. "runtime": "node20", "handler": "index.handler"), or a files["lambda.yaml"]');
  }

  for (const [path] of entries) {
    const problem = pathProblem(path);
    if (problem) throw bad(field(path), `${field(path)}: ${problem}`);
  }
  const clash = fileUnderFile(entries.map(([path]) => path));
  if (clash) throw bad(field(clash.path), `${field(clash.path)}: "${clash.file}" is a file, so it cannot also be a folder`);

  const decoded: RegisteredFile[] = [];
  let total = 0;
  for (const [path, value] of entries) {
    if (typeof value !== 'string') throw bad(field(path), `${field(path)}: expected the file's content as a base64 string`);
    // Counted before decoding, so an oversized body costs no buffer (exact for valid base64).
    total += (value.length / 4) * 3 - (value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0);
    if (total > limits.maxBytes) throw codeTooLarge(limits.maxBytes);
    const content = strictBase64(value);
    if (content === undefined) throw bad(field(path), `${field(path)}: not valid base64 (only A-Z, a-z, 0-9, +, / and = padding, no spaces or line breaks: \`base64 -w0\`)`);
    decoded.push({ path, content });
  }

  if (manifestKeys) {
    const text = manifestText(keys);
    try {
      parseManifest(text);
    } catch (error) {
      throw asBodyProblems(error);
    }
    decoded.push({ path: MANIFEST_FILE, content: Buffer.from(text) });
  } else {
    parseManifest((decoded.find((file) => file.path === MANIFEST_FILE) as RegisteredFile).content.toString('utf8'));
  }
  return decoded;
}

/** Why `path` may not name a file of the commit, or undefined when it may. */
export function pathProblem(path: string): string | undefined {
  if (path === '') return 'the path is empty';
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return `the path is over ${MAX_PATH_BYTES} bytes`;
  if (path.startsWith('/')) return 'the path is absolute: give it relative to the function\'s folder, e.g. "src/index.js"';
  if (path.includes('\\')) return 'the path has a backslash: separate folders with "/"';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'the path has a control character';
  for (const segment of path.split('/')) {
    if (segment === '') return 'the path has an empty name (a leading, trailing or doubled "/")';
    if (segment === '.' || segment === '..') return `the path has "${segment}": every file stays inside the function's folder`;
    if (Buffer.byteLength(segment) > MAX_NAME_BYTES) return `a name in the path is over ${MAX_NAME_BYTES} bytes`;
    // git keeps its own files under .git and refuses names it could mistake for it on other file systems.
    const plain = segment.toLowerCase().replace(/[. ]+$/, '');
    if (plain === '.git' || plain === 'git~1') return 'the path names ".git", which holds the repository itself';
  }
  return undefined;
}

/**
 * lambda.yaml's problems with the keys sent beside "files", told as the body's fields: no lambda.yaml was sent, so
 * no "lambda.yaml: line 1:" (the lines of a file the server wrote). A LAMBDA_ERR_BAD_REQUEST naming the first field.
 */
export function asBodyProblems(error: unknown): unknown {
  const problems = error instanceof LambdaError && error.code === 'LAMBDA_ERR_MANIFEST_INVALID' ? error.details.problems : undefined;
  if (!Array.isArray(problems) || problems.length === 0) return error;
  const told = problems.map((problem) => bodyProblem(String(problem)));
  const detail = told.map((problem) => problem.text).join('; ');
  return new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail }, { field: told[0]?.field ?? 'runtime', problems: told.map((problem) => problem.text) });
}

/** `line 1: unknown key "runtme" (did you mean …)` → `"runtme": unknown key (did you mean …)`; `runtime: expected …` → `"runtime": expected …`. */
function bodyProblem(problem: string): { field?: string; text: string } {
  const plain = problem.replace(/^line \d+: /, '');
  const unknown = /^unknown key "(.*)" \((.*)\)$/s.exec(plain);
  if (unknown) return { field: unknown[1], text: `"${unknown[1]}": unknown key (${unknown[2]})` };
  const key = /^([A-Za-z][\w.[\]]*): /.exec(plain)?.[1];
  return key === undefined ? { text: plain } : { field: key, text: `"${key}": ${plain.slice(key.length + 2)}` };
}

/**
 * A body that is not JSON, with the likely cause when a string holds a line break: `base64` wraps its output every
 * 76 characters unless told `-w0`.
 */
export function notJsonHint(error: unknown): unknown {
  if (!(error instanceof LambdaError) || error.code !== 'LAMBDA_ERR_BAD_REQUEST' || !/Bad control character in string literal/.test(error.message)) return error;
  return new LambdaError('LAMBDA_ERR_BAD_REQUEST', {
    detail: `${error.message}: a string holds a line break or another control character; \`base64\` breaks its output into lines unless given -w0, so encode each file with \`base64 -w0 FILE\``,
  });
}

/** The first path that has another path as one of its folders (`a` and `a/b`), with that file; undefined when none. */
export function fileUnderFile(paths: string[]): { path: string; file: string } | undefined {
  const all = new Set(paths);
  for (const path of paths) {
    for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
      const folder = path.slice(0, slash);
      if (all.has(folder)) return { path, file: folder };
    }
  }
  return undefined;
}

/** The bytes of canonical, padded base64 text; undefined for anything else (Node's decoder skips what it does not know). */
export function strictBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Unused bits set in the last character decode to the same bytes as another text: one text per content.
  return bytes.toString('base64') === text ? bytes : undefined;
}

/** lambda.yaml written from the body's keys, in their order. */
export function manifestText(keys: Record<string, unknown>): string {
  for (const [key, value] of Object.entries(keys)) {
    if (depth(value) > MAX_MANIFEST_DEPTH) throw bad(key.slice(0, 100), `${shown(key)} nests deeper than ${MAX_MANIFEST_DEPTH} levels`);
  }
  const text = stringify(keys, { lineWidth: 0 });
  const bytes = Buffer.byteLength(text);
  if (bytes > MANIFEST_MAX_BYTES) throw manifestTooLarge(bytes);
  return text;
}

/** How many arrays and objects deep `value` goes, counted without recursion and stopping past the limit. */
function depth(value: unknown): number {
  let deepest = 0;
  const stack: { value: unknown; level: number }[] = [{ value, level: 0 }];
  while (stack.length > 0) {
    const { value: next, level } = stack.pop() as { value: unknown; level: number };
    deepest = Math.max(deepest, level);
    if (deepest > MAX_MANIFEST_DEPTH) break;
    if (typeof next === 'object' && next !== null) for (const child of Object.values(next)) stack.push({ value: child, level: level + 1 });
  }
  return deepest;
}

/** How a message names a file of the body: files["src/a.js"], clipped and with control characters escaped. */
export function field(path: string): string {
  return `files[${shown(path)}]`;
}

/** User text in a message: quoted as JSON (control characters escaped), cut at 100 characters. */
function shown(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
}

/** A 400 whose `details.field` names the key at fault (`files`, `files["a.js"]`, `runtime`) for clients to show. */
function bad(fieldName: string, detail: string): LambdaError {
  return new LambdaError('LAMBDA_ERR_BAD_REQUEST', { detail }, { field: fieldName });
}

function codeTooLarge(maxBytes: number): LambdaError {
  return new LambdaError('LAMBDA_ERR_CODE_TOO_LARGE', { limit: `${Math.round(maxBytes / 1024 / 1024)} MB` }, { field: 'files' });
}
