// The per-command loopback credential: valid only while issued, and its open requests are cut on release.
import http from 'node:http';
import test from 'ava';
import { createLoopbackCredentials } from './loopback.js';

test('a key verifies until released; other strings never do', (t) => {
  const credentials = createLoopbackCredentials();
  const grant = credentials.issue();
  t.regex(grant.key, /^lambda_ssh_[A-Za-z0-9_-]{43}$/);
  t.true(credentials.verify(grant.key));
  t.false(credentials.verify(`${grant.key}x`));
  t.false(credentials.verify(undefined));
  t.false(credentials.verify('lambda_ssh_'));
  grant.release();
  t.false(credentials.verify(grant.key));
});

test('releasing a key closes the requests it has open, and only those', async (t) => {
  const credentials = createLoopbackCredentials();
  const mine = credentials.issue();
  const other = credentials.issue();
  // A handler that never answers, like a followed log stream.
  const server = http.createServer(credentials.wrap(async (_req, res) => void res.write('started\n')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const open = (key: string) =>
    new Promise<{ ended: Promise<string> }>((resolve) => {
      http.get({ port, host: '127.0.0.1', headers: { authorization: `Bearer ${key}` } }, (res) => {
        res.once('data', () =>
          resolve({ ended: new Promise((done) => { res.once('close', () => done('closed')); res.once('error', () => done('closed')); }) }),
        );
      });
    });
  const first = await open(mine.key);
  const second = await open(other.key);
  mine.release();
  t.is(await first.ended, 'closed');
  const stillOpen = await Promise.race([second.ended, new Promise((resolve) => setTimeout(() => resolve('open'), 300))]);
  t.is(stillOpen, 'open');
  other.release();
  t.is(await second.ended, 'closed');
  server.close();
});
