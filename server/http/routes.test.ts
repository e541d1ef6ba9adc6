// Unit tests of request routing: which surface a Host header and request target reach.
import test from 'ava';
import { route, type Route } from './routes.js';

const routes = test.macro({
  exec(t, host: string | undefined, url: string, domain: string, expected: Route) {
    t.deepEqual(route(host, url, domain), expected);
  },
  title: (provided = '', host: string | undefined, url: string, domain: string) =>
    `${provided ? `${provided}: ` : ''}${String(host)} ${url} (domain ${domain})`.trim(),
});

const fn = (name: string, path: string, prefix = ''): Route => ({ surface: 'function', name, path, prefix });

test(routes, 'greet.localhost:8080', '/x?y=1', 'localhost', fn('greet', '/x?y=1'));
test(routes, 'greet.localhost', '/', 'localhost', fn('greet', '/'));
test('subdomain wins over an /api path', routes, 'greet.localhost:8080', '/api/v1/functions', 'localhost', fn('greet', '/api/v1/functions'));
test('subdomain wins over an /fn path', routes, 'greet.localhost:8080', '/fn/other/x', 'localhost', fn('greet', '/fn/other/x'));
test('upper-case Host', routes, 'GREET.LocalHost:8080', '/x', 'localhost', fn('greet', '/x'));
test('custom domain', routes, 'greet.example.test', '/hello', 'example.test', fn('greet', '/hello'));
test('custom domain with a port', routes, 'greet.example.test:443', '/', 'example.test', fn('greet', '/'));

test(routes, 'localhost:8080', '/fn/greet/a/b?c=d', 'localhost', fn('greet', '/a/b?c=d', '/fn/greet'));
test(routes, 'localhost:8080', '/fn/greet', 'localhost', fn('greet', '/', '/fn/greet'));
test(routes, 'localhost:8080', '/fn/greet/', 'localhost', fn('greet', '/', '/fn/greet'));
test(routes, 'localhost:8080', '/fn/greet?x=1', 'localhost', fn('greet', '/?x=1', '/fn/greet'));
test('path routing on a custom domain', routes, 'example.test', '/fn/greet/a', 'example.test', fn('greet', '/a', '/fn/greet'));
test('path routing with no Host header', routes, undefined, '/fn/greet/a', 'localhost', fn('greet', '/a', '/fn/greet'));
// The name is decoded for the verbs to validate (and refuse); the prefix keeps the raw form seen on the wire.
test('an encoded name is decoded, the prefix is not', routes, 'localhost', '/fn/%2e%2e/x', 'localhost', fn('..', '/x', '/fn/%2e%2e'));
test('a malformed escape is kept as it is', routes, 'localhost', '/fn/%zz/x', 'localhost', fn('%zz', '/x', '/fn/%zz'));

test(routes, 'localhost:8080', '/api/v1/functions', 'localhost', { surface: 'api', path: '/api/v1/functions' });
test(routes, 'localhost:8080', '/api/v1/functions/greet?x=1', 'localhost', { surface: 'api', path: '/api/v1/functions/greet?x=1' });
test(routes, 'localhost:8080', '/api', 'localhost', { surface: 'api', path: '/api' });
test(routes, 'LOCALHOST:8080', '/api/v1/functions', 'localhost', { surface: 'api', path: '/api/v1/functions' });
test(routes, 'localhost:8080', '/git/greet.git/info/refs', 'localhost', { surface: 'git', path: '/git/greet.git/info/refs' });
test(routes, 'localhost:8080', '/git/greet.git/info/refs?service=git-upload-pack', 'localhost', {
  surface: 'git',
  path: '/git/greet.git/info/refs?service=git-upload-pack',
});
test(routes, 'localhost:8080', '/metrics', 'localhost', { surface: 'metrics' });
test(routes, 'localhost:8080', '/metrics?name=greet', 'localhost', { surface: 'metrics' });

test(routes, 'localhost:8080', '/', 'localhost', { surface: 'none' });
test(routes, 'localhost:8080', '/apix', 'localhost', { surface: 'none' });
test(routes, 'localhost:8080', '/fn', 'localhost', { surface: 'none' });
test(routes, 'localhost:8080', '/FN/greet', 'localhost', { surface: 'none' });
test(routes, 'localhost:8080', '/metrics/x', 'localhost', { surface: 'none' });
test('a host that only ends with the domain text', routes, 'evillocalhost:8080', '/x', 'localhost', { surface: 'none' });
test('a different domain', routes, 'greet.example.test', '/', 'localhost', { surface: 'none' });

test('metrics', routes, 'localhost:8080', '/metrics', 'localhost', { surface: 'metrics' });
test('the health check', routes, 'localhost:8080', '/healthz', 'localhost', { surface: 'health' });

// The dashboard's own host: the dashboard and the API it calls, nothing a function or a pusher controls.
const board = 'dashboard.localhost:8080';
test('the dashboard on its host', routes, board, '/dashboard/functions/greet', 'localhost', { surface: 'dashboard', path: '/dashboard/functions/greet' });
test('the dashboard on its host, bare', routes, board, '/dashboard', 'localhost', { surface: 'dashboard', path: '/dashboard' });
test('the dashboard on its host, upper case', routes, 'DASHBOARD.LocalHost:8080', '/dashboard/', 'localhost', { surface: 'dashboard', path: '/dashboard/' });
test('the API on the dashboard host', routes, board, '/api/v1/functions?x=1', 'localhost', { surface: 'api', path: '/api/v1/functions?x=1' });
test('the dashboard host root goes to the dashboard', routes, board, '/', 'localhost', { surface: 'redirect', location: '/dashboard' });
test('no function on the dashboard host', routes, board, '/fn/evil/', 'localhost', { surface: 'none' });
test('no function on the dashboard host, bare', routes, board, '/fn/evil', 'localhost', { surface: 'none' });
test('no git on the dashboard host', routes, board, '/git/greet.git/info/refs', 'localhost', { surface: 'none' });
test('no /metrics on the dashboard host', routes, board, '/metrics', 'localhost', { surface: 'none' });
test('no health check on the dashboard host', routes, board, '/healthz', 'localhost', { surface: 'none' });
test('no service worker script on the dashboard host', routes, board, '/sw.js', 'localhost', { surface: 'none' });
test('the dashboard host on a custom domain', routes, 'dashboard.example.test', '/dashboard', 'example.test', { surface: 'dashboard', path: '/dashboard' });
test('a host under the dashboard host is a function name the verbs refuse', routes, 'x.dashboard.localhost', '/', 'localhost', fn('x.dashboard', '/'));

// The control origin sends the dashboard's old addresses to its host, keeping the port and (scheme-relative) the scheme.
test('the control origin redirects /dashboard', routes, 'localhost:8080', '/dashboard', 'localhost', { surface: 'redirect', location: '//dashboard.localhost:8080/dashboard' });
test('the control origin redirects a dashboard page with its query', routes, '127.0.0.1:41234', '/dashboard/functions/greet?window=24h', 'localhost', {
  surface: 'redirect',
  location: '//dashboard.localhost:41234/dashboard/functions/greet?window=24h',
});
test('the control origin redirects without a port', routes, 'example.test', '/dashboard/', 'example.test', { surface: 'redirect', location: '//dashboard.example.test/dashboard/' });
test('no Host header still redirects to the dashboard host', routes, undefined, '/dashboard', 'localhost', { surface: 'redirect', location: '//dashboard.localhost/dashboard' });
test('a function keeps its own /dashboard', routes, 'greet.localhost:8080', '/dashboard', 'localhost', fn('greet', '/dashboard'));
test('the control origin has no /dashboardx', routes, 'localhost:8080', '/dashboardx', 'localhost', { surface: 'none' });
test('a function may have its own /healthz', routes, 'greet.localhost:8080', '/healthz', 'localhost', fn('greet', '/healthz'));
