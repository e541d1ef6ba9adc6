// Strict HTTP/1.1 framing for the gateway's byte path: request and response heads, and where a chunked body ends.
// Strict on purpose: the byte path takes only requests it reads exactly as Node's parser and the instance would; any
// other request goes to Node's own HTTP server (see traffic/byte-path.ts), so a disagreement can never desync a connection.

/** Node's default maxHeaderSize: a longer head goes to Node, which answers 431. */
export const MAX_HEAD_BYTES = 16 * 1024;
const MAX_HEADERS = 100;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible ASCII, space, tab and obs-text: no NUL, no other control character.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET = /^\/[\x21-\x7e]*$/;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

export interface RequestHead {
  method: string;
  target: string;
  /** Names in lower case, in the order sent; framing and hop-by-hop headers are left in for the caller to drop. */
  headers: [string, string][];
  host: string;
  contentLength: number;
  /** `Connection: close` was asked. */
  close: boolean;
  /** Bytes the head took, its blank line included. */
  size: number;
}

/**
 * Reads the request head at the start of `data`. `incomplete`: no blank line yet. `unsupported`: anything the byte path
 * does not take (HTTP/1.0, chunked or `Expect` bodies, upgrades, a malformed or ambiguous head); Node's server decides.
 */
export function parseRequestHead(data: Buffer): RequestHead | 'incomplete' | 'unsupported' {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return data.length > MAX_HEAD_BYTES ? 'unsupported' : 'incomplete';
  if (end > MAX_HEAD_BYTES) return 'unsupported';
  const lines = data.toString('latin1', 0, end).split('\r\n');
  const requestLine = (lines[0] as string).split(' ');
  if (requestLine.length !== 3) return 'unsupported';
  const [method, target, version] = requestLine as [string, string, string];
  if (version !== 'HTTP/1.1' || !METHODS.has(method) || !TARGET.test(target)) return 'unsupported';
  const headers = parseFields(lines);
  if (!headers) return 'unsupported';
  let host: string | undefined;
  let contentLength: number | undefined;
  let close = false;
  for (const [name, value] of headers) {
    switch (name) {
      case 'host':
        if (host !== undefined) return 'unsupported';
        host = value;
        break;
      case 'content-length':
        if (contentLength !== undefined || !/^\d{1,15}$/.test(value)) return 'unsupported';
        contentLength = Number(value);
        break;
      case 'connection': {
        const options = value.toLowerCase().split(',').map((option) => option.trim());
        if (options.includes('upgrade')) return 'unsupported';
        if (options.includes('close')) close = true;
        break;
      }
      case 'transfer-encoding':
      case 'expect':
      case 'upgrade':
        return 'unsupported';
    }
  }
  if (host === undefined) return 'unsupported';
  return { method, target, headers, host, contentLength: contentLength ?? 0, close, size: end + 4 };
}

export interface ResponseHead {
  statusCode: number;
  headers: [string, string][];
  /** Body bytes that follow: a length, `chunked`, or `close` (until the instance closes the connection). */
  framing: number | 'chunked' | 'close';
  /** The instance will close the connection after this answer. */
  close: boolean;
  size: number;
}

/**
 * Reads a response head from an instance (hostile: a function writes what it likes). `incomplete`: no blank line yet;
 * `invalid`: not one unambiguous HTTP/1.x answer. `noBody`: the answer of a HEAD request, which never has a body.
 */
export function parseResponseHead(data: Buffer, noBody: boolean): ResponseHead | 'incomplete' | 'invalid' {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return data.length > 4 * MAX_HEAD_BYTES ? 'invalid' : 'incomplete';
  if (end > 4 * MAX_HEAD_BYTES) return 'invalid';
  const lines = data.toString('latin1', 0, end).split('\r\n');
  const status = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [\t\x20-\x7e\x80-\xff]*)?$/.exec(lines[0] as string);
  if (!status) return 'invalid';
  const headers = parseFields(lines);
  if (!headers) return 'invalid';
  const statusCode = Number(status[2]);
  let length: number | undefined;
  let chunked = false;
  let close = status[1] === '0';
  for (const [name, value] of headers) {
    if (name === 'content-length') {
      if (length !== undefined || !/^\d{1,15}$/.test(value)) return 'invalid';
      length = Number(value);
    } else if (name === 'transfer-encoding') {
      if (chunked || value.toLowerCase() !== 'chunked') return 'invalid';
      chunked = true;
    } else if (name === 'connection') {
      const options = value.toLowerCase().split(',').map((option) => option.trim());
      if (options.includes('close')) close = true;
      else if (options.includes('keep-alive') && status[1] === '0') close = false;
    }
  }
  if (chunked && length !== undefined) return 'invalid';
  const bodiless = noBody || statusCode === 204 || statusCode === 304 || statusCode < 200;
  const framing = bodiless ? 0 : chunked ? 'chunked' : (length ?? 'close');
  return { statusCode, headers, framing, close: close || framing === 'close', size: end + 4 };
}

/** The header lines after the first; undefined for a malformed one (obs-fold, a space before the colon, a bad name or value). */
function parseFields(lines: string[]): [string, string][] | undefined {
  if (lines.length - 1 > MAX_HEADERS) return undefined;
  const fields: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon);
    // Optional whitespace is spaces and tabs only (String.prototype.trim would also take obs-text such as \xa0).
    let start = colon + 1;
    let end = line.length;
    while (start < end && isBlank(line.charCodeAt(start))) start++;
    while (end > start && isBlank(line.charCodeAt(end - 1))) end--;
    const value = line.slice(start, end);
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) return undefined;
    fields.push([name.toLowerCase(), value]);
  }
  return fields;
}

const isBlank = (code: number) => code === 32 || code === 9;

/**
 * Finds where a chunked body ends, chunk by chunk, across reads. `feed` returns how many bytes of `data` belong to the
 * body (all of them until the end is seen), or -1 for a malformed body.
 */
export class ChunkedScanner {
  private state: 'size' | 'data' | 'data-crlf' | 'trailer' | 'done' = 'size';
  private remaining = 0;
  /** The current size or trailer line, while it spans reads. */
  private line = '';

  get done(): boolean {
    return this.state === 'done';
  }

  feed(data: Buffer): number {
    let at = 0;
    while (at < data.length && this.state !== 'done') {
      if (this.state === 'data') {
        const take = Math.min(this.remaining, data.length - at);
        at += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'data-crlf';
        continue;
      }
      const newline = data.indexOf(10, at);
      const end = newline < 0 ? data.length : newline + 1;
      this.line += data.toString('latin1', at, end);
      at = end;
      if (this.line.length > 4096) return -1;
      if (newline < 0) break;
      const line = this.line;
      this.line = '';
      if (!line.endsWith('\r\n')) return -1;
      const text = line.slice(0, -2);
      if (this.state === 'data-crlf') {
        if (text !== '') return -1;
        this.state = 'size';
      } else if (this.state === 'size') {
        const size = /^([0-9a-fA-F]{1,12})(?:;[\t\x20-\x7e]*)?$/.exec(text);
        if (!size) return -1;
        this.remaining = parseInt(size[1] as string, 16);
        this.state = this.remaining === 0 ? 'trailer' : 'data';
      } else if (text === '') {
        this.state = 'done';
      } else if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*$/.test(text)) {
        return -1;
      }
    }
    return at;
  }
}
