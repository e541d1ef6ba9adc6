// Decides which surface a request is for, from its Host header and path.
export type Route =
  | { surface: 'function'; name: string; path: string; prefix: string }
  | { surface: 'api'; path: string }
  | { surface: 'git'; path: string }
  | { surface: 'metrics' }
  | { surface: 'dashboard'; path: string }
  | { surface: 'health' }
  | { surface: 'none' };

/** `host` is the Host header; `url` the request target. Function names are validated later, by the verbs. */
export function route(host: string | undefined, url: string, domain: string): Route {
  const hostname = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  if (hostname.endsWith(`.${domain}`)) {
    const name = hostname.slice(0, -(domain.length + 1));
    return { surface: 'function', name, path: url, prefix: '' };
  }
  const pathname = url.split('?')[0];
  if (pathname.startsWith('/fn/')) {
    const rest = url.slice(4);
    const cut = rest.search(/[/?]/);
    const name = cut < 0 ? rest : rest.slice(0, cut);
    let path = cut < 0 ? '/' : rest.slice(cut);
    if (path.startsWith('?')) path = `/${path}`;
    return { surface: 'function', name: safeDecode(name), path, prefix: `/fn/${name}` };
  }
  if (pathname === '/api' || pathname.startsWith('/api/')) return { surface: 'api', path: url };
  if (pathname.startsWith('/git/')) return { surface: 'git', path: url };
  if (pathname === '/metrics') return { surface: 'metrics' };
  if (pathname === '/healthz') return { surface: 'health' };
  if (pathname === '/dashboard' || pathname.startsWith('/dashboard/')) return { surface: 'dashboard', path: url };
  return { surface: 'none' };
}

/** decodeURIComponent that leaves a malformed escape as it is, for the name check to refuse. */
export function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
