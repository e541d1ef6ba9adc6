// git's credential-helper protocol for the Lambda server: which requests get the API key, the answer, and the helper line.

/** The user name git sends with the key; the server reads only the password. */
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

/** The lines a helper answers `get` with; a key git could not carry (a line break or NUL in it) is refused. */
export function credentialAnswer(apiKey: string): string {
  if (/[\r\n\0]/.test(apiKey)) throw new Error('the API key holds a line break or NUL, which git cannot carry');
  return `username=${GIT_USERNAME}\npassword=${apiKey}\n`;
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
 * Helpers git would still run for `origin` after this CLI's (the last `credential.<origin>.helper` that runs
 * `… git-credential`): a generic `credential.helper`, or another one for the same server, read after it. git asks
 * helpers for a key only until one gives it, but on a push that succeeds it hands the key to every helper to
 * `store` (a `quit` answer does not stop that), so `store` would write it in plain text to ~/.git-credentials. An
 * empty value resets the list: what comes after a reset is what git runs.
 */
export function helpersAfterOurs(entries: readonly HelperEntry[], origin: string): HelperEntry[] {
  const ourKey = `credential.${origin}.helper`.toLowerCase();
  let ours = -1;
  entries.forEach((entry, index) => {
    if (entry.key.toLowerCase() === ourKey && entry.value.endsWith(' git-credential')) ours = index;
  });
  if (ours < 0) return [];
  const after: HelperEntry[] = [];
  for (const entry of entries.slice(ours + 1)) {
    const key = entry.key.toLowerCase();
    if (key !== 'credential.helper' && key !== ourKey) continue;
    if (entry.value === '') after.length = 0;
    else after.push(entry);
  }
  return after;
}

/** One line naming a helper read after this CLI's, and what to do about it. */
export function laterHelperWarning(entry: HelperEntry, origin: string): string {
  const value = entry.value.slice(0, 80).replace(/[^\x20-\x7e]/g, '?');
  const where = entry.origin.slice(0, 120).replace(/[^\x20-\x7e]/g, '?');
  return `${entry.key} "${value}" (${where}) comes after lambda's helper: git hands it the key after every push, and a storing helper such as "store" writes it in plain text (~/.git-credentials); remove it, or move it before the [credential "${origin}"] section (lambda setup-git puts that section last in ~/.gitconfig)`;
}
