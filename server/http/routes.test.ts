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
test('the dashboard', routes, 'localhost:8080', '/dashboard/functions/greet', 'localhost', { surface: 'dashboard', path: '/dashboard/functions/greet' });
test('a function may have its own /healthz', routes, 'greet.localhost:8080', '/healthz', 'localhost', fn('greet', '/healthz'));
