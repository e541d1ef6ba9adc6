// The REST API from the page: the API token kept in sessionStorage and sent as a Bearer header, never as a cookie.

const TOKEN_KEY = 'lambda.token';

/** Thrown when the server refused the token (401): the page returns to the sign-in form with `message`. */
export class SignedOut extends Error {}

/** The API's own error answer, `{error:{code,message}}`, with its status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(key: string): void {
  sessionStorage.setItem(TOKEN_KEY, key);
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** A fetch of `/api/v1…` with the token; the answer's status is checked, its body left to the caller. */
export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const key = token();
  if (!key) throw new SignedOut('Sign in with an API token.');
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${key}`);
  // No cookies and no referrer leave with these calls: the token is the only credential.
  const response = await fetch(path, { ...init, headers, credentials: 'omit', referrerPolicy: 'no-referrer', cache: 'no-store' });
  if (response.ok) return response;
  const { code, message } = await errorOf(response);
  if (response.status === 401) {
    signOut();
    throw new SignedOut(`The server refused that API token (${message}). Sign in again.`);
  }
  if (response.status === 403) throw new ApiError(403, code, 'This API token cannot use the API (an invoke token): sign in with an admin token.');
  throw new ApiError(response.status, code, message);
}

export async function getJson<T>(path: string, init?: RequestInit): Promise<T> {
  return (await (await request(path, init)).json()) as T;
}

/** As getJson, but a 404 (a route this server does not have yet, or no data) is `null`, not an error. */
export async function getOptional<T>(path: string): Promise<T | null> {
  try {
    return await getJson<T>(path);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  return getJson<T>(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    return { code: String(body.error?.code ?? 'UNKNOWN'), message: String(body.error?.message ?? response.statusText).slice(0, 500) };
  } catch {
    return { code: 'UNKNOWN', message: `${response.status} ${response.statusText}` };
  }
}

export const fn = (name: string, rest = '') => `/api/v1/functions/${encodeURIComponent(name)}${rest}`;
