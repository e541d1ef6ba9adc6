// git's credential-helper protocol for the Lambda server: which requests get the API token, the answer, and the helper line.

/** The user name git sends with the API token; the server reads only the password. */
export const GIT_USERNAME = 'lambda';

/** What git asks a helper for: `key=value` lines (protocol, host, path, username, ...), the first of each key kept. */
export type CredentialRequest = ReadonlyMap<string, string>;

/** Reads git's request: `key=value` lines up to a blank line or the end; other lines are skipped. */
export function parseCredentialRequest(text: string): CredentialRequest {
  const request = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line === '') break;
    const equals = line.indexOf('=');
    if (equals <= 0) continue;
    const key = line.slice(0, equals);
    if (!request.has(key)) request.set(key, line.slice(equals + 1));
  }
  return request;
}

/**
 * The scheme, host and port of a URL as the credential config and the helper compare them (`http://localhost:8080`),
 * or undefined when it is not an http(s) URL. Default ports are dropped and the host lower-cased, as git does.
 */
export function serverOrigin(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  return `${parsed.protocol}//${parsed.host}`;
}

/**
 * True only when git asks for the server the CLI is configured for: the same protocol, host and port. Paths are not
 * compared (git sends none unless told to), so every repository of that server matches, and nothing else does.
 */
export function requestMatches(request: CredentialRequest, serverUrl: string): boolean {
  const protocol = request.get('protocol');
  const host = request.get('host');
  if (!protocol || !host || !/^[a-z][a-z0-9+.-]*$/i.test(protocol) || /[/@?#\s\\]/.test(host)) return false;
  const asked = serverOrigin(`${protocol}://${host}`);
  return asked !== undefined && asked === serverOrigin(serverUrl);
}

/** The lines a helper answers `get` with; a token git could not carry (a line break or NUL in it) is refused. */
export function credentialAnswer(token: string): string {
  if (/[\r\n\0]/.test(token)) throw new Error('the API token holds a line break or NUL, which git cannot carry');
  return `username=${GIT_USERNAME}\npassword=${token}\n`;
}

/** `text` as one word for a POSIX shell. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The `credential.<url>.helper` value: a shell command (the leading `!`) that runs this CLI by absolute paths, Node's
 * and the launcher's, so no PATH lookup decides which program receives git's requests. git appends the operation.
 */
export function helperCommand(node: string, launcher: string): string {
  return `!${shellQuote(node)} ${shellQuote(launcher)} git-credential`;
}

/** A credential helper entry as `git config --show-origin -z --get-regexp` lists it, in the order git reads them. */
export interface HelperEntry {
  origin: string;
  key: string;
  value: string;
}

/** Reads `git config --show-origin -z --get-regexp …`: `origin NUL key LF value NUL` records (no LF: no value). */
export function parseConfigListing(text: string): HelperEntry[] {
  const fields = text.split('\0');
  const entries: HelperEntry[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const record = fields[i + 1] as string;
    const newline = record.indexOf('\n');
    entries.push({ origin: fields[i] as string, key: newline < 0 ? record : record.slice(0, newline), value: newline < 0 ? '' : record.slice(newline + 1) });
  }
  return entries;
}

/** The keys of every credential helper entry, for `git config --get-regexp`. */
export const HELPER_KEYS = '^credential\\..*helper$';

/**
 * Whether git may run the helper of config key `key` (`credential.helper` or `credential.<url>.helper`) for `origin`.
 * git matches `<url>` loosely: a path, a `user@`, a missing scheme, a `*` in a host label all still match, so this
 * is conservative: only a URL that clearly names another host is left out, and anything it cannot read counts.
 */
export function helperMayApply(key: string, origin: string): boolean {
  const lower = key.toLowerCase();
  if (lower === 'credential.helper') return true;
  if (!lower.startsWith('credential.') || !lower.endsWith('.helper') || lower.length <= 'credential..helper'.length) return false;
  const ourHost = hostOf(origin);
  const host = hostOf(key.slice('credential.'.length, -'.helper'.length));
  if (ourHost === undefined || host === undefined) return true;
  if (!host.includes('*')) return host === ourHost;
  // git's wildcard stands for one whole or partial label: `*.example.com` is not `example.com`, nor `a.b.example.com`.
  const labels = host.split('.');
  const ours = ourHost.split('.');
  return labels.length === ours.length && labels.every((label, i) => new RegExp(`^${label.replace(/\*/g, '[^.]*')}$`).test(ours[i] as string));
}

/**
 * The host a credential URL names (lower-cased, a trailing dot dropped), with or without a scheme, path, `user@` or
 * port; undefined when it is not plainly one (empty, percent-encoded, characters no host holds).
 */
function hostOf(url: string): string | undefined {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  const authority = (scheme ? url.slice(scheme[0].length) : url).split(/[/?#]/)[0] as string;
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1).toLowerCase();
  const host = hostPort.startsWith('[') ? /^\[[0-9a-f:.]+\]/.exec(hostPort)?.[0] : hostPort.replace(/:\d*$/, '').replace(/\.$/, '');
  if (!host || !/^(\[[0-9a-f:.]+\]|[a-z0-9_*-]+(\.[a-z0-9_*-]+)*)$/.test(host)) return undefined;
  return host;
}

/**
 * Helpers git may still run for `origin` after this CLI's (the last `credential.<origin>.helper` that runs
 * `… git-credential`), in any config it reads: a generic `credential.helper`, or any `credential.<url>.helper` whose
 * URL may match the server (see helperMayApply). git asks helpers for a token only until one gives it, but on a push
 * that succeeds it hands the token to every helper to `store` (a `quit` answer does not stop that), so `store` would
 * write it in plain text to ~/.git-credentials. An empty value resets the list: what comes after a reset is what git
 * runs; only a reset sure to apply (generic, or for exactly this server) is trusted to clear what came before it.
 */
export function helpersAfterOurs(entries: readonly HelperEntry[], origin: string): HelperEntry[] {
  const ourKey = `credential.${origin}.helper`.toLowerCase();
  const isOurs = (entry: HelperEntry) => entry.value.endsWith(' git-credential');
  let ours = -1;
  entries.forEach((entry, index) => {
    if (entry.key.toLowerCase() === ourKey && isOurs(entry)) ours = index;
  });
  if (ours < 0) return [];
  const after: HelperEntry[] = [];
  for (const entry of entries.slice(ours + 1)) {
    if (!helperMayApply(entry.key, origin) || isOurs(entry)) continue;
    const key = entry.key.toLowerCase();
    if (entry.value !== '') after.push(entry);
    else if (key === 'credential.helper' || key === ourKey) after.length = 0;
  }
  return after;
}

/** One line naming a helper read after this CLI's, and what to do about it. */
export function laterHelperWarning(entry: HelperEntry, origin: string): string {
  const value = entry.value.slice(0, 80).replace(/[^\x20-\x7e]/g, '?');
  const where = entry.origin.slice(0, 120).replace(/[^\x20-\x7e]/g, '?');
  const key = entry.key.slice(0, 120).replace(/[^\x20-\x7e]/g, '?');
  return `${key} "${value}" (${where}) comes after lambda's helper: git hands it the API token after every push, and a storing helper such as "store" writes it in plain text (~/.git-credentials); remove it, or move it before the [credential "${origin}"] section (lambda setup-git puts that section last in ~/.gitconfig)`;
}
