// The operator's start lines say truthfully where the server listens and where the admin API token's key comes from.
import test from 'ava';
import { adminTokenLines, dashboardLine, httpListenLine, sshListenLine, whereBound } from './start-lines.js';

test('the default address is all interfaces, named with the variable that changes it', (t) => {
  t.is(whereBound('0.0.0.0', 'LAMBDA_HOST'), 'all interfaces (LAMBDA_HOST=0.0.0.0)');
  t.is(whereBound('::', 'LAMBDA_HOST'), 'all interfaces (LAMBDA_HOST=::)');
  t.is(whereBound('127.0.0.1', 'LAMBDA_HOST'), 'loopback only (LAMBDA_HOST=127.0.0.1)');
  t.is(whereBound('192.0.2.7', 'LAMBDA_SSH_HOST'), '192.0.2.7 only (LAMBDA_SSH_HOST=192.0.2.7)');
});

test('the HTTP line names the address bound, the port and the URL to use', (t) => {
  t.is(
    httpListenLine({ host: '0.0.0.0', port: 8080, url: 'http://localhost:8080', dataDir: '/var/lib/lambda' }),
    '-----> Lambda listening on all interfaces (LAMBDA_HOST=0.0.0.0), port 8080: http://localhost:8080 (port 8080, data in /var/lib/lambda)',
  );
});

test('the dashboard line gives its address', (t) => {
  t.is(dashboardLine('http://dashboard.localhost:8080/dashboard'), '-----> Dashboard: http://dashboard.localhost:8080/dashboard (sign in with an API token)');
});

test('the SSH line names the address bound and its port', (t) => {
  t.is(
    sshListenLine({ host: '0.0.0.0', port: 2222, fingerprint: 'SHA256:abc' }),
    '-----> SSH listening on all interfaces (LAMBDA_SSH_HOST=0.0.0.0), port 2222 (host key SHA256:abc)',
  );
});

test('the first start shows the generated key once', (t) => {
  t.deepEqual(adminTokenLines({ generatedKey: 'lambda_abc', seeded: false }), [
    '-----> Admin API key (shown once, only its hash is stored):',
    '       lambda_abc',
  ]);
});

test('a restart says the admin API token exists and how to get a key again', (t) => {
  t.deepEqual(adminTokenLines({ seeded: false }), [
    '-----> Admin API token: one already exists; its key was shown only at the first start. Lost it? Start once with ' +
      'LAMBDA_API_KEY=<a key of your own, e.g. from `openssl rand -hex 32`> to add an admin token with that key',
  ]);
});

test('a key given in LAMBDA_API_KEY is named as the source', (t) => {
  t.deepEqual(adminTokenLines({ seeded: true }), ['-----> Admin API token: the key in LAMBDA_API_KEY']);
});
