// Decides which surface a request is for, from its Host header and path.
export type Route =
  | { surface: 'function'; name: string; path: string; prefix: string }
  | { surface: 'api'; path: string }
  | { surface: 'git'; path: string }
  | { surface: 'metrics' }
  | { surface: 'dashboard'; path: string }
  | { surface: 'redirect'; location: string }
  | { surface: 'health' }
  | { surface: 'none' };

/** The label of the dashboard's own host, `dashboard.<domain>`; no function may take it as its name. */
export const DASHBOARD_LABEL = 'dashboard';

/**
 * `host` is the Host header; `url` the request target. Function names are validated later, by the verbs.
 *
 * The dashboard holds an admin's API token, so it lives on an origin of its own, `dashboard.<domain>`, where no
 * function ever answers: a function's page on the control origin (`/fn/<name>/`) or on its own subdomain is another
 * origin to the browser, so it can neither read the dashboard's storage nor put a service worker in front of it.
 */
export function route(host: string | undefined, url: string, domain: string): Route {
  const hostname = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  const pathname = url.split('?')[0] ?? '';
  if (hostname === `${DASHBOARD_LABEL}.${domain}`) return dashboardHost(pathname, url);
  if (hostname.endsWith(`.${domain}`)) {
    const name = hostname.slice(0, -(domain.length + 1));
    return { surface: 'function', name, path: url, prefix: '' };
  }
  if (pathname.startsWith('/fn/')) {
    const rest = url.slice(4);
    const cut = rest.search(/[/?]/);
    const name = cut < 0 ? rest : rest.slice(0, cut);
    let path = cut < 0 ? '/' : rest.slice(cut);
    if (path.startsWith('?')) path = `/${path}`;
    return { surface: 'function', name: safeDecode(name), path, prefix: `/fn/${name}` };
  }
  if (isApi(pathname)) return { surface: 'api', path: url };
  if (pathname.startsWith('/git/')) return { surface: 'git', path: url };
  if (pathname === '/metrics') return { surface: 'metrics' };
  if (pathname === '/healthz') return { surface: 'health' };
  // Old links to the control origin's /dashboard land on the dashboard's host, on the port the request came to;
  // scheme-relative, so http stays http and https stays https.
  if (isDashboard(pathname)) return { surface: 'redirect', location: `//${DASHBOARD_LABEL}.${domain}${portOf(host)}${url}` };
  return { surface: 'none' };
}

/** The dashboard's host serves the dashboard and the REST API it calls, and nothing else: no function, git or /metrics. */
function dashboardHost(pathname: string, url: string): Route {
  if (isDashboard(pathname)) return { surface: 'dashboard', path: url };
  if (isApi(pathname)) return { surface: 'api', path: url };
  if (pathname === '/') return { surface: 'redirect', location: '/dashboard' };
  return { surface: 'none' };
}

function isApi(pathname: string): boolean {
  return pathname === '/api' || pathname.startsWith('/api/');
}

function isDashboard(pathname: string): boolean {
  return pathname === '/dashboard' || pathname.startsWith('/dashboard/');
}

/** `:8080` of `localhost:8080`, or nothing. */
function portOf(host: string | undefined): string {
  return /(:\d+)$/.exec(host ?? '')?.[1] ?? '';
}

/** decodeURIComponent that leaves a malformed escape as it is, for the name check to refuse. */
export function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
